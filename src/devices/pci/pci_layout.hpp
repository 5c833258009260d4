// The PCI address layout of the machine: what the firmware tables (ACPI MCFG and _PRT, MP table
// interrupt entries, e820) must describe and what the BAR allocator hands out. Numbers only; no
// devices here, so the boot module can include it without linking devices.
//
// Layout inside the MMIO hole 0xC000'0000-0xFFFF'FFFF (memory/guest_memory.hpp):
//   0xC000'0000 - 0xDFFF'FFFF  32-bit memory BARs (512 MiB)
//   0xE000'0000 - 0xE00F'FFFF  ECAM for bus 0 (PCI Firmware Spec 3.2 §4.1.2: 1 MiB per bus)
//   0xE010'0000 - 0xEFFF'FFFF  free (virtio-mmio transports, kVirtioMmioBase)
//   0xFEC0'0000 IOAPIC, 0xFEE0'0000 LAPIC, 0xFF00'0000 test device
// 64-bit BARs go above the end of RAM, in [k64BitWindowBase, +k64BitWindowSize).
#pragma once

#include <cstdint>

namespace vessel::devices::pci {

// ECAM (PCI Express Base Spec 5.0 §7.2.2): bus << 20 | device << 15 | function << 12 | register.
inline constexpr uint64_t kEcamBase = 0xE000'0000;
inline constexpr uint8_t kEcamFirstBus = 0;
inline constexpr uint8_t kEcamLastBus = 0;
inline constexpr uint64_t kEcamSize = uint64_t{kEcamLastBus - kEcamFirstBus + 1} << 20;
inline constexpr uint16_t kPciSegment = 0;

// Configuration mechanism #1 (PCI Local Bus Spec 3.0 §3.2.2.3.2): CONFIG_ADDRESS at 0xCF8,
// CONFIG_DATA at 0xCFC-0xCFF.
inline constexpr uint16_t kConfigPortBase = 0xCF8;
inline constexpr uint16_t kConfigPortCount = 8;

// Windows for BARs placed by the VMM.
inline constexpr uint64_t k32BitWindowBase = 0xC000'0000;
inline constexpr uint64_t k32BitWindowSize = 0x2000'0000;
inline constexpr uint64_t k64BitWindowBase = 0x80'0000'0000;  // 512 GiB, above any RAM we map
inline constexpr uint64_t k64BitWindowSize = 0x40'0000'0000;  // 256 GiB

// Where the machine may put virtio-mmio transports: kVirtioMmioStride bytes each, one GSI each.
inline constexpr uint64_t kVirtioMmioBase = 0xE010'0000;
inline constexpr uint64_t kVirtioMmioStride = 0x1000;
inline constexpr uint64_t kVirtioMmioSize = 0x200;  // registers + device configuration
// The GSIs of virtio-mmio slots 0, 1, ...: ISA IRQs no device of this PC uses. Legacy IRQs
// because a command-line announcement names a Linux IRQ number, which equals the GSI only for
// 0-15 (Linux maps those at boot; higher ones only when ACPI or PCI asks).
inline constexpr uint32_t kVirtioMmioGsis[] = {5, 6, 7, 10, 11, 14, 15};
inline constexpr unsigned kVirtioMmioMaxDevices = sizeof(kVirtioMmioGsis) / sizeof(uint32_t);

struct VirtioMmioSlot {
  uint64_t base;
  uint64_t size;
  uint32_t gsi;
};
// Slot n < kVirtioMmioMaxDevices.
constexpr VirtioMmioSlot virtio_mmio_slot(unsigned n) {
  return {kVirtioMmioBase + n * kVirtioMmioStride, kVirtioMmioSize, kVirtioMmioGsis[n]};
}

inline constexpr unsigned kDevicesPerBus = 32;

// Legacy INTx routing (the firmware's _PRT / MP-table entries must say exactly this):
// every device uses INTA# only (pin 1 in the interrupt-pin register), and device `slot`'s INTA#
// is wired to IOAPIC input kIntxFirstGsi + slot % kIntxGsiCount, level-triggered, active low
// (PCI Local Bus Spec 3.0 §2.2.6). The machine's IRQ lines speak in assertions, so "active low"
// is only what the tables declare. GSIs 16-23 are the IOAPIC pins no ISA device uses.
inline constexpr uint32_t kIntxFirstGsi = 16;
inline constexpr uint32_t kIntxGsiCount = 8;
// `pin` is 0 for INTA# ... 3 for INTD#; the standard swizzle keeps the table correct should a
// device ever use another pin.
constexpr uint32_t intx_gsi(unsigned slot, unsigned pin = 0) {
  return kIntxFirstGsi + (slot + pin) % kIntxGsiCount;
}

}  // namespace vessel::devices::pci
