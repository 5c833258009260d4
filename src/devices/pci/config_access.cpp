#include "devices/pci/config_access.hpp"

#include <algorithm>

namespace vessel::devices::pci {
namespace {

constexpr uint32_t kEnable = 1u << 31;

struct Target {
  uint8_t bus, slot, function;
  uint16_t reg;
};

Target decode_cf8(uint32_t address, uint64_t data_offset) {
  return Target{static_cast<uint8_t>(address >> 16), static_cast<uint8_t>((address >> 11) & 0x1f),
                static_cast<uint8_t>((address >> 8) & 7),
                static_cast<uint16_t>((address & 0xfc) + data_offset)};
}

Target decode_ecam(uint64_t offset) {
  return Target{static_cast<uint8_t>(offset >> 20), static_cast<uint8_t>((offset >> 15) & 0x1f),
                static_cast<uint8_t>((offset >> 12) & 7), static_cast<uint16_t>(offset & 0xfff)};
}

// An access must stay within one dword of one function (the bus never splits it for us).
bool within_dword(uint16_t reg, size_t len) {
  return len <= 4 && (reg & 3) + len <= 4;
}

}  // namespace

void PciConfigPorts::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (offset == 0 && data.size() == 4) return bus::store_le(data, address_);
  if (offset >= 4 && (address_ & kEnable)) {
    const Target t = decode_cf8(address_, offset - 4);
    if (within_dword(t.reg, data.size()))
      return root_->config_read(t.bus, t.slot, t.function, t.reg, data);
  }
  std::fill(data.begin(), data.end(), 0xff);
}

void PciConfigPorts::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  if (offset == 0 && data.size() == 4) {
    // Bits 1:0 are reserved (read back as 0); bits 30:24 reserved too.
    address_ = static_cast<uint32_t>(bus::load_le(data)) & 0x80ff'fffc;
    return;
  }
  if (offset >= 4 && (address_ & kEnable)) {
    const Target t = decode_cf8(address_, offset - 4);
    if (within_dword(t.reg, data.size()))
      root_->config_write(t.bus, t.slot, t.function, t.reg, data);
  }
}

void PciEcam::read(uint64_t offset, std::span<uint8_t> data) {
  const Target t = decode_ecam(offset);
  if (within_dword(t.reg, data.size()))
    return root_->config_read(t.bus, t.slot, t.function, t.reg, data);
  std::fill(data.begin(), data.end(), 0xff);
}

void PciEcam::write(uint64_t offset, std::span<const uint8_t> data) {
  const Target t = decode_ecam(offset);
  if (within_dword(t.reg, data.size())) root_->config_write(t.bus, t.slot, t.function, t.reg, data);
}

Result<void> PciConfigPorts::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(address_);
  return {};
}

Result<void> PciConfigPorts::load_state(bus::StateReader& in) {
  std::lock_guard lock(mutex_);
  in(address_);
  return in.finish();
}

}  // namespace vessel::devices::pci
