// The I/O APIC (Intel 82093AA data sheet, order 290566) at MMIO 0xfec00000: IOREGSEL (offset
// 0x00) selects a register, IOWIN (0x10) reads or writes it. Registers: ID (0x00), version
// (0x01: 0x11 with 24 redirection entries), arbitration ID (0x02), and 24 redirection entries
// (0x10 + 2n low, 0x11 + 2n high). Edge inputs deliver on a rising edge while unmasked (an edge
// arriving masked is lost, as on the chip); level inputs deliver while asserted and unmasked
// unless remote IRR is set, which the local APIC's EOI broadcast clears (then a still-asserted
// line delivers again). Delivery goes to local APICs through the ApicBus.
//
// Input levels are logical (true = asserted): the polarity bit is stored for the guest to read
// but does not invert anything, because the machine's IRQ lines already speak in assertions.
// ExtINT, SMI and INIT delivery modes from a redirection entry are passed to the bus as-is.
//
// Wiring: auto ioapic = std::make_shared<IoApic>(apic_bus);
//         apic_bus.set_eoi_listener(ioapic.get());
//         buses.mmio.add(IoApic::kDefaultBase, IoApic::kMmioSize, ioapic);
//         the machine's IRQ router calls ioapic->set_irq_level(gsi, level) for GSIs 0-23
//         (ISA IRQ 0 is GSI 2 per the MADT's interrupt source override; others identity).
// Thread safety: one mutex; messages go to the bus with it released.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <vector>

#include "bus/device_state.hpp"
#include "bus/io_device.hpp"
#include "bus/irq.hpp"
#include "devices/legacy/apic_bus.hpp"

namespace vessel::devices {

class IoApic final : public bus::IoDevice,
                     public bus::IrqSink,
                     public EoiListener,
                     public bus::Stateful {
 public:
  // Snapshots (bus/device_state.hpp).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  static constexpr uint64_t kDefaultBase = 0xfec0'0000;
  static constexpr uint64_t kMmioSize = 0x20;
  static constexpr unsigned kPins = 24;
  static constexpr uint32_t kVersion = 0x11 | ((kPins - 1) << 16);

  explicit IoApic(ApicBus& bus, uint8_t id = 0);

  std::string_view name() const override { return "ioapic"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // GSI inputs 0-23; other numbers are ignored.
  void set_irq_level(uint32_t gsi, bool level) override;
  // EOI broadcast from a local APIC.
  void end_of_interrupt(uint8_t vector) override;

  uint64_t redirection_entry(unsigned pin) const;  // for tests and debugging

 private:
  uint32_t read_register(uint8_t index) const;
  void write_register(uint8_t index, uint32_t value, std::vector<ApicMessage>& out);
  // Delivers pin's interrupt if the entry and the line allow it now (mutex_ held).
  void service(unsigned pin, std::vector<ApicMessage>& out);
  void send(const std::vector<ApicMessage>& messages);

  ApicBus& bus_;
  mutable std::mutex mutex_;
  uint8_t select_ = 0;
  uint32_t id_;
  std::array<uint64_t, kPins> redirection_{};
  std::array<bool, kPins> level_{};    // input line asserted
  std::array<bool, kPins> pending_{};  // an edge seen (delivered when serviced)
};

}  // namespace vessel::devices
