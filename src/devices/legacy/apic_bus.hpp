// ApicBus: the path interrupt messages take between APICs (on real hardware the system bus;
// SDM Vol. 3A 10.6 "Issuing interprocessor interrupts", 10.11 for the message fields). The
// IOAPIC and the local APICs (IPIs) send messages here; the bus selects the destination local
// APICs (physical or logical addressing) and hands each its copy. End-of-interrupt for level
// triggered vectors goes the other way: a local APIC broadcasts it and the IOAPIC clears its
// remote IRR bits (SDM 10.8.5).
//
// Lowest-priority delivery goes to the first matching local APIC (the SDM leaves arbitration to
// the implementation; with one vCPU it does not matter). Local APICs and the EOI listener are
// attached while the machine is built, before any vCPU runs; afterwards the bus is read-only
// and needs no lock.
#pragma once

#include <cstdint>
#include <vector>

namespace vessel::devices {

class LocalApic;

enum class DeliveryMode : uint8_t {
  kFixed = 0,
  kLowestPriority = 1,
  kSmi = 2,
  kNmi = 4,
  kInit = 5,
  kStartup = 6,
  kExtInt = 7,
};

struct ApicMessage {
  uint8_t vector = 0;
  DeliveryMode mode = DeliveryMode::kFixed;
  bool logical = false;     // destination mode: logical (LDR/DFR) or physical (APIC ID)
  uint8_t destination = 0;  // 0xff: broadcast in physical mode
  bool level_triggered = false;
  bool assert_level = true;  // INIT level de-assert (level 0) is a no-op on xAPICs
};

// Who hears end-of-interrupt broadcasts (the IOAPIC).
class EoiListener {
 public:
  virtual ~EoiListener() = default;
  virtual void end_of_interrupt(uint8_t vector) = 0;
};

class ApicBus {
 public:
  void attach(LocalApic* apic) { apics_.push_back(apic); }
  void set_eoi_listener(EoiListener* listener) { eoi_listener_ = listener; }

  // Delivers to every local APIC the destination selects (one for lowest priority).
  void deliver(const ApicMessage& message);
  // ICR destination shorthands (SDM 10.6.1): self, all including self, all excluding self.
  void deliver_to_self(const ApicMessage& message, LocalApic* sender);
  void deliver_to_all(const ApicMessage& message, LocalApic* except);
  void broadcast_eoi(uint8_t vector);

 private:
  std::vector<LocalApic*> apics_;
  EoiListener* eoi_listener_ = nullptr;
};

}  // namespace vessel::devices
