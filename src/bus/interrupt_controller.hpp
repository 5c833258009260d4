// InterruptController: what a software CPU asks of the interrupt controller wired to it (the
// local APIC, or the 8259 PIC in virtual-wire mode). Implemented by devices, used by the software
// engine; the machine connects the two. KVM has its own in-kernel controller and never sees this.
#pragma once

#include <cstdint>
#include <optional>

namespace vessel::bus {

class InterruptController {
 public:
  virtual ~InterruptController() = default;
  // True when an external interrupt is ready to be taken (priority and masking already
  // applied by the controller; the CPU still checks RFLAGS.IF and interrupt shadows).
  virtual bool interrupt_pending() = 0;
  // The interrupt-acknowledge cycle: returns the vector and marks it in service, or nullopt
  // when the request went away meanwhile.
  virtual std::optional<uint8_t> acknowledge() = 0;
  // True when an NMI is pending; taking it clears it.
  virtual bool take_nmi() { return false; }
};

// Something that must be woken when an interrupt becomes pending (a vCPU asleep in HLT).
class InterruptWaker {
 public:
  virtual ~InterruptWaker() = default;
  virtual void wake() = 0;
};

}  // namespace vessel::bus
