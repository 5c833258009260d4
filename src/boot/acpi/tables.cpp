#include "boot/acpi/tables.hpp"

#include "boot/acpi/sdt.hpp"
#include "boot/byte_writer.hpp"
#include "boot/layout.hpp"

namespace vessel::boot::acpi {
namespace {

// MADT interrupt controller structure types (ACPI 6.5 §5.2.12, Table 5.45).
constexpr uint8_t kLocalApic = 0, kIoApic = 1, kSourceOverride = 2, kLocalApicNmi = 4;
constexpr uint32_t kPcatCompat = 1;          // MADT flags: dual 8259s are present
constexpr uint16_t kLevelActiveHigh = 0x0d;  // MPS INTI flags: polarity 01, trigger 11

// FADT fixed feature flags (Table 5.10) and IA-PC boot architecture flags (Table 5.11).
constexpr uint32_t kWbinvd = 1u << 0, kProcC1 = 1u << 2, kPwrButton = 1u << 4, kSlpButton = 1u << 5,
                   kResetRegSup = 1u << 10;
constexpr uint16_t kLegacyDevices = 1u << 0, k8042 = 1u << 1, kVgaNotPresent = 1u << 2;

// Generic Address Structure (§5.2.3.2) in system I/O space.
void io_gas(ByteWriter& w, size_t off, uint16_t port, uint8_t bits, uint8_t access_size) {
  w.u8(off, 1);  // address space: system I/O
  w.u8(off + 1, bits);
  w.u8(off + 2, 0);
  w.u8(off + 3, access_size);  // 1 byte, 2 word, 3 dword
  w.u64(off + 4, port);
}

}  // namespace

std::vector<uint8_t> make_madt(unsigned vcpus) {
  ByteWriter w(8);
  w.u32(0, uint32_t(layout::kLocalApicAddress));
  w.u32(4, kPcatCompat);
  size_t pos = 8;
  for (unsigned i = 0; i < vcpus; ++i) {  // Processor Local APIC, Table 5.47
    w.u8(pos, kLocalApic);
    w.u8(pos + 1, 8);
    w.u8(pos + 2, uint8_t(i));  // ACPI processor UID
    w.u8(pos + 3, uint8_t(i));  // APIC ID
    w.u32(pos + 4, 1);          // enabled
    pos += 8;
  }
  w.u8(pos, kIoApic);  // I/O APIC, Table 5.49: ID after the CPUs', as in the MP table
  w.u8(pos + 1, 12);
  w.u8(pos + 2, uint8_t(vcpus));
  w.u32(pos + 4, uint32_t(layout::kIoApicAddress));
  w.u32(pos + 8, 0);  // global system interrupt base
  pos += 12;
  // Interrupt Source Overrides, Table 5.50: the PIT's IRQ0 arrives on GSI 2, and the SCI is
  // level-triggered active-high (the ISA default would be edge).
  auto override_irq = [&](uint8_t irq, uint32_t gsi, uint16_t flags) {
    w.u8(pos, kSourceOverride);
    w.u8(pos + 1, 10);
    w.u8(pos + 2, 0);  // bus: ISA
    w.u8(pos + 3, irq);
    w.u32(pos + 4, gsi);
    w.u16(pos + 8, flags);
    pos += 10;
  };
  override_irq(0, 2, 0);
  override_irq(kSciIrq, kSciIrq, kLevelActiveHigh);
  w.u8(pos, kLocalApicNmi);  // Local APIC NMI, Table 5.54: LINT1 of every processor
  w.u8(pos + 1, 6);
  w.u8(pos + 2, 0xff);
  w.u16(pos + 3, 0);
  w.u8(pos + 5, 1);
  return make_sdt("APIC", 5, w.data());
}

std::vector<uint8_t> make_fadt(uint64_t dsdt, uint64_t facs) {
  // Offsets below are from the start of the table (Table 5.9); the body starts after the
  // 36-byte header, so we build the whole table and fix the header afterwards.
  ByteWriter w(kFadtSize);
  w.u32(36, uint32_t(facs));  // FIRMWARE_CTRL (X_FIRMWARE_CTRL stays 0, as §5.2.9 requires)
  w.u32(40, uint32_t(dsdt));
  w.u16(46, kSciIrq);
  // SMI_CMD = 0: no SMM, the platform is always in ACPI mode (SCI_EN reads as set).
  w.u32(56, kPm1aEventBlock);
  w.u32(64, kPm1aControlBlock);
  w.u32(76, kPmTimerBlock);
  w.u8(88, 4);      // PM1_EVT_LEN
  w.u8(89, 2);      // PM1_CNT_LEN
  w.u8(91, 4);      // PM_TMR_LEN
  w.u16(96, 101);   // P_LVL2_LAT > 100: no C2
  w.u16(98, 1001);  // P_LVL3_LAT > 1000: no C3
  w.u16(109, kLegacyDevices | k8042 | kVgaNotPresent);
  w.u32(112, kWbinvd | kProcC1 | kPwrButton | kSlpButton | kResetRegSup);
  io_gas(w, 116, kResetPort, 8, 1);  // RESET_REG
  w.u8(128, kResetValue);
  w.u8(131, 0);                              // FADT minor version: 6.0
  w.u64(140, dsdt);                          // X_DSDT, equal to DSDT
  io_gas(w, 148, kPm1aEventBlock, 32, 2);    // X_PM1a_EVT_BLK
  io_gas(w, 172, kPm1aControlBlock, 16, 2);  // X_PM1a_CNT_BLK
  io_gas(w, 208, kPmTimerBlock, 32, 3);      // X_PM_TMR_BLK
  const std::span<const uint8_t> body = std::span(w.data()).subspan(kHeaderSize);
  return make_sdt("FACP", 6, body);
}

std::vector<uint8_t> make_facs() {
  // No checksum: the FACS is read-write for the OS (§5.2.10, Table 5.14).
  ByteWriter w(kFacsSize);
  w.str(0, "FACS", 4);
  w.u32(4, uint32_t(kFacsSize));
  w.u8(32, 2);  // version
  return std::move(w.data());
}

std::vector<uint8_t> s5_aml(uint8_t sleep_type) {
  // NameOp, NameString \_S5_, PackageOp, PkgLength (one byte: counts itself, NumElements and
  // the 6 element bytes = 8), NumElements 4, BytePrefix typ, BytePrefix typ, ZeroOp, ZeroOp.
  return {0x08, '\\', '_',        'S',  '5',        '_',  0x12, 0x08,
          0x04, 0x0a, sleep_type, 0x0a, sleep_type, 0x00, 0x00};
}

std::vector<uint8_t> make_dsdt(std::span<const uint8_t> extra_aml) {
  std::vector<uint8_t> aml = s5_aml(kS5SleepType);
  aml.insert(aml.end(), extra_aml.begin(), extra_aml.end());
  return make_sdt("DSDT", 2, aml);  // revision 2: 64-bit AML integers
}

}  // namespace vessel::boot::acpi
