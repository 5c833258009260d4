#include "devices/legacy/ioapic.hpp"

namespace vessel::devices {

namespace {
constexpr uint8_t kRegId = 0x00, kRegVersion = 0x01, kRegArbitration = 0x02;
constexpr uint8_t kRegRedirection = 0x10;
constexpr uint64_t kMasked = 1u << 16;
constexpr uint64_t kLevelTriggered = 1u << 15;
constexpr uint64_t kRemoteIrr = 1u << 14;
constexpr uint64_t kDeliveryStatus = 1u << 12;
// Writable: vector, delivery mode, destination mode, polarity, trigger mode, mask, destination.
constexpr uint64_t kWritable = 0xff00'0000'0001'afffull;
}  // namespace

IoApic::IoApic(ApicBus& bus, uint8_t id) : bus_(bus), id_(uint32_t{id & 0xfu} << 24) {
  redirection_.fill(kMasked);  // every entry starts masked
}

void IoApic::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  uint64_t value = 0;
  if (offset == 0x00) value = select_;
  if (offset >= 0x10 && offset < 0x14) value = read_register(select_) >> (8 * (offset - 0x10));
  bus::store_le(data, value);
}

void IoApic::write(uint64_t offset, std::span<const uint8_t> data) {
  std::vector<ApicMessage> out;
  {
    std::lock_guard lock(mutex_);
    const uint64_t value = bus::load_le(data);
    if (offset == 0x00) {
      select_ = static_cast<uint8_t>(value);
    } else if (offset == 0x10) {
      write_register(select_, static_cast<uint32_t>(value), out);
    }
  }
  send(out);
}

uint32_t IoApic::read_register(uint8_t index) const {
  switch (index) {
    case kRegId:
    case kRegArbitration:  // the arbitration ID mirrors the ID after reset
      return id_;
    case kRegVersion:
      return kVersion;
    default:
      break;
  }
  const unsigned pin = (index - kRegRedirection) / 2u;
  if (index < kRegRedirection || pin >= kPins) return 0;
  const uint64_t entry = redirection_[pin];
  return static_cast<uint32_t>(index & 1 ? entry >> 32 : entry);
}

void IoApic::write_register(uint8_t index, uint32_t value, std::vector<ApicMessage>& out) {
  if (index == kRegId) {
    id_ = value & 0x0f00'0000;
    return;
  }
  const unsigned pin = (index - kRegRedirection) / 2u;
  if (index < kRegRedirection || pin >= kPins) return;  // version, arbitration: read-only
  uint64_t& entry = redirection_[pin];
  const uint64_t updated = index & 1 ? (entry & 0xffff'ffffull) | (uint64_t{value} << 32)
                                     : (entry & ~0xffff'ffffull) | value;
  entry = (entry & ~kWritable) | (updated & kWritable);
  if (!(entry & kLevelTriggered)) entry &= ~kRemoteIrr;
  service(pin, out);  // unmasking an asserted level line delivers it now
}

void IoApic::service(unsigned pin, std::vector<ApicMessage>& out) {
  uint64_t& entry = redirection_[pin];
  if (entry & kMasked) return;
  const bool level = entry & kLevelTriggered;
  if (level) {
    if (!level_[pin] || (entry & kRemoteIrr)) return;
    entry |= kRemoteIrr;  // until the EOI for this vector
  } else {
    if (!pending_[pin]) return;
    pending_[pin] = false;
  }
  out.push_back(ApicMessage{.vector = static_cast<uint8_t>(entry & 0xff),
                            .mode = static_cast<DeliveryMode>((entry >> 8) & 7),
                            .logical = (entry & (1u << 11)) != 0,
                            .destination = static_cast<uint8_t>(entry >> 56),
                            .level_triggered = level,
                            .assert_level = true});
}

void IoApic::set_irq_level(uint32_t gsi, bool level) {
  if (gsi >= kPins) return;
  std::vector<ApicMessage> out;
  {
    std::lock_guard lock(mutex_);
    const bool rising = level && !level_[gsi];
    level_[gsi] = level;
    const uint64_t entry = redirection_[gsi];
    // An edge seen while masked is lost (82093AA: masked edge interrupts are ignored).
    if (rising && !(entry & kLevelTriggered) && !(entry & kMasked)) pending_[gsi] = true;
    service(gsi, out);
  }
  send(out);
}

void IoApic::end_of_interrupt(uint8_t vector) {
  std::vector<ApicMessage> out;
  {
    std::lock_guard lock(mutex_);
    for (unsigned pin = 0; pin < kPins; ++pin) {
      uint64_t& entry = redirection_[pin];
      if ((entry & 0xff) != vector || !(entry & kRemoteIrr)) continue;
      entry &= ~kRemoteIrr;
      service(pin, out);  // still asserted: deliver again
    }
  }
  send(out);
}

void IoApic::send(const std::vector<ApicMessage>& messages) {
  for (const auto& m : messages) bus_.deliver(m);
}

uint64_t IoApic::redirection_entry(unsigned pin) const {
  std::lock_guard lock(mutex_);
  return pin < kPins ? redirection_[pin] & ~kDeliveryStatus : 0;
}

Result<void> IoApic::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(select_, id_, redirection_, level_, pending_);
  return {};
}

Result<void> IoApic::load_state(bus::StateReader& in) {
  std::lock_guard lock(mutex_);
  in(select_, id_, redirection_, level_, pending_);
  return in.finish();
}

}  // namespace vessel::devices
