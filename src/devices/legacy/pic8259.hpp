// The PC's pair of 8259A programmable interrupt controllers (Intel 8259A data sheet, order
// 231468): master at ports 0x20-0x21, slave at 0xa0-0xa1 cascaded on master IR2, and the
// edge/level control registers (ELCR, as on the PIIX/ICH south bridges) at 0x4d0-0x4d1.
// Modelled: the ICW1-ICW4 initialisation sequence, OCW1 (mask), OCW2 (non-specific and specific
// EOI, rotation, set priority, rotate in auto-EOI), OCW3 (read IRR/ISR, poll, special mask),
// edge and level triggering, auto-EOI, special fully nested mode and spurious IRQ 7/15 when
// nothing is pending at acknowledge time. Not modelled: 8080/8085 call mode, buffered mode
// (no effect on a PC), BCD anything.
//
// Wiring (by the machine, for the software engine):
//   auto pic = std::make_shared<Pic8259>();
//   attach_ports(buses.pio, pic, Pic8259::kPorts);
//   ISA IRQ 0-15 are its IrqSink inputs (GSI number = ISA IRQ; the machine's IRQ router also
//   forwards them to the IOAPIC). Its INT output is read by the CPU side through the
//   bus::InterruptController interface: either the LAPIC's LINT0 in ExtINT mode (virtual wire,
//   LocalApic::set_extint_source(pic.get()) and pic->set_output_waker(&lapic->extint_waker())),
//   or directly the CPU when there is no LAPIC (pic->set_output_waker(vcpu waker)).
// IRQ 2 is the cascade input: an external set_irq_level(2, ...) is ignored.
//
// Thread safety: one mutex; the output waker is called with it released.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>

#include "bus/device_state.hpp"
#include "bus/interrupt_controller.hpp"
#include "bus/io_device.hpp"
#include "bus/irq.hpp"
#include "devices/legacy/port_window.hpp"

namespace vessel::devices {

class Pic8259 final : public bus::IoDevice,
                      public bus::InterruptController,
                      public bus::IrqSink,
                      public bus::Stateful {
 public:
  // Snapshots (bus/device_state.hpp).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  static constexpr uint16_t kMasterPort = 0x20;
  static constexpr uint16_t kSlavePort = 0xa0;
  static constexpr uint16_t kElcrPort = 0x4d0;
  static constexpr std::array<PortRange, 3> kPorts{
      {{kMasterPort, 2}, {kSlavePort, 2}, {kElcrPort, 2}}};

  Pic8259() = default;
  // Called (without the PIC's lock) whenever the INT output is high after a change.
  void set_output_waker(bus::InterruptWaker* waker) { waker_ = waker; }

  std::string_view name() const override { return "pic8259"; }
  // Addressed by absolute port number (see port_window.hpp).
  void read(uint64_t port, std::span<uint8_t> data) override;
  void write(uint64_t port, std::span<const uint8_t> data) override;

  // ISA IRQ inputs 0-15; other numbers are ignored.
  void set_irq_level(uint32_t irq, bool level) override;

  // The INTR/INTA side: the INT output level, and the acknowledge cycle returning the vector.
  bool interrupt_pending() override;
  std::optional<uint8_t> acknowledge() override;

  // Register views for tests and debugging: chip 0 = master, 1 = slave.
  uint8_t irr(int chip) const;
  uint8_t isr(int chip) const;
  uint8_t imr(int chip) const;

 private:
  struct Chip {
    uint8_t irr = 0, isr = 0, imr = 0;
    uint8_t lines = 0;  // input levels (for edge detection)
    uint8_t elcr = 0;
    uint8_t elcr_mask = 0;
    uint8_t vector_base = 0;
    uint8_t lowest = 7;     // the IR with the lowest priority (rotation moves it)
    uint8_t init_step = 0;  // 0: initialised; 2, 3, 4: expecting that ICW next
    bool single = false, need_icw4 = false, level_all = false;
    bool auto_eoi = false, rotate_in_aeoi = false, sfnm = false;
    bool read_isr = false, poll = false, special_mask = false;
  };

  uint8_t read_port(uint16_t port);
  void write_port(uint16_t port, uint8_t value);
  void write_command(Chip& c, uint8_t value);
  void write_data(Chip& c, uint8_t value);
  void write_ocw2(Chip& c, uint8_t value);
  bool is_level(const Chip& c, int irq) const { return c.level_all || (c.elcr >> irq) & 1; }
  int highest(const Chip& c, uint8_t bits) const;  // highest-priority IR set in bits, or -1
  int pending_irq(const Chip& c, bool master) const;
  void ack_chip(Chip& c, int irq, bool master);
  uint8_t poll(Chip& c, bool master);
  void sync_cascade();  // master IR2 follows the slave's INT output (a level input)
  bool output() const { return pending_irq(chips_[0], true) >= 0; }
  void notify(bool high);

  bus::InterruptWaker* waker_ = nullptr;
  mutable std::mutex mutex_;
  std::array<Chip, 2> chips_{Chip{.elcr_mask = 0xf8}, Chip{.elcr_mask = 0xde}};
};

}  // namespace vessel::devices
