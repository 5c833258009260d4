#include "devices/legacy/msi.hpp"

namespace vessel::devices {

std::optional<ApicMessage> msi_to_apic_message(uint64_t address, uint32_t data) {
  // SDM Vol. 3A §10.11.1: the address selects the processor(s).
  if ((address & ~uint64_t{0xF'FFFF}) != kMsiAddressBase) return std::nullopt;
  // §10.11.2: delivery mode 011b is reserved.
  const uint32_t mode = (data >> 8) & 7;
  if (mode == 3) return std::nullopt;
  ApicMessage m;
  m.vector = static_cast<uint8_t>(data & 0xFF);
  m.mode = static_cast<DeliveryMode>(mode);
  m.logical = (address & (1u << 2)) != 0;
  m.destination = static_cast<uint8_t>((address >> 12) & 0xFF);
  m.level_triggered = (data & (1u << 15)) != 0;
  // Edge-triggered messages always assert; for level-triggered ones bit 14 says which edge.
  m.assert_level = !m.level_triggered || (data & (1u << 14)) != 0;
  return m;
}

}  // namespace vessel::devices
