#include "devices/legacy/apic_bus.hpp"

#include "devices/legacy/lapic.hpp"

namespace vessel::devices {

void ApicBus::deliver(const ApicMessage& message) {
  for (LocalApic* apic : apics_) {
    if (!apic->matches(message.destination, message.logical)) continue;
    apic->accept(message);
    if (message.mode == DeliveryMode::kLowestPriority) break;
  }
}

void ApicBus::deliver_to_self(const ApicMessage& message, LocalApic* sender) {
  sender->accept(message);
}

void ApicBus::deliver_to_all(const ApicMessage& message, LocalApic* except) {
  for (LocalApic* apic : apics_) {
    if (apic != except) apic->accept(message);
  }
}

void ApicBus::broadcast_eoi(uint8_t vector) {
  if (eoi_listener_) eoi_listener_->end_of_interrupt(vector);
}

}  // namespace vessel::devices
