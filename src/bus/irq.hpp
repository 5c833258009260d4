// Interrupt lines as devices see them. A device holds an IrqLine for its pin; the machine
// connects it to whatever routes interrupts for the engine in use (KVM's in-kernel irqchip,
// or the emulated PIC/IOAPIC), so a device never knows which engine runs the guest.
#pragma once

#include <cstdint>

namespace vessel::bus {

// Something that takes the level of global system interrupt (GSI) lines.
class IrqSink {
 public:
  virtual ~IrqSink() = default;
  virtual void set_irq_level(uint32_t gsi, bool level) = 0;
};

class IrqLine {
 public:
  IrqLine() = default;
  IrqLine(IrqSink* sink, uint32_t gsi) : sink_(sink), gsi_(gsi) {}

  void set_level(bool level) const {
    if (sink_) sink_->set_irq_level(gsi_, level);
  }
  // An edge: raise then lower (for edge-triggered ISA lines).
  void pulse() const {
    set_level(true);
    set_level(false);
  }
  bool connected() const { return sink_ != nullptr; }
  uint32_t gsi() const { return gsi_; }

 private:
  IrqSink* sink_ = nullptr;
  uint32_t gsi_ = 0;
};

}  // namespace vessel::bus
