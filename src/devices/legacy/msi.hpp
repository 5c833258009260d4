// Message-signalled interrupts as the emulated APICs see them: a PCI device's MSI/MSI-X write
// (address, data) decoded into the ApicBus message it stands for (SDM Vol. 3A §10.11). Only the
// decoding lives here; the machine hands the message to ApicBus::deliver.
//   address: bits 31:20 = 0xFEE, 19:12 destination ID, bit 3 redirection hint, bit 2
//            destination mode (1 = logical); bits 63:32 must be zero (xAPIC, no x2APIC).
//   data:    bits 7:0 vector, 10:8 delivery mode, bit 14 level (assert), bit 15 trigger mode
//            (1 = level).
#pragma once

#include <cstdint>
#include <optional>

#include "devices/legacy/apic_bus.hpp"

namespace vessel::devices {

inline constexpr uint64_t kMsiAddressBase = 0xFEE0'0000;

// nullopt for writes that are not interrupt messages: an address outside 0xFEExxxxx or a
// reserved delivery mode (3). Both come from the guest, so they are dropped, not trusted.
std::optional<ApicMessage> msi_to_apic_message(uint64_t address, uint32_t data);

}  // namespace vessel::devices
