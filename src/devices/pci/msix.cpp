#include "devices/pci/msix.hpp"

#include <algorithm>
#include <cstring>

#include "base/log.hpp"
#include "devices/pci/pci_regs.hpp"

namespace vessel::devices::pci {

Msix::Msix(uint16_t vectors)
    : vectors_(std::clamp<uint16_t>(vectors, 1, kMsixMaxVectors)),
      table_(uint64_t{vectors_} * kMsixEntrySize),
      pending_((vectors_ + 63) / 64) {
  reset();
}

void Msix::reset() {
  std::lock_guard lock(mutex_);
  std::fill(table_.begin(), table_.end(), 0);
  for (uint16_t v = 0; v < vectors_; ++v) table_[v * kMsixEntrySize + 12] = kMsixVectorMasked;
  std::fill(pending_.begin(), pending_.end(), 0);
  enabled_ = function_masked_ = false;
}

void Msix::set_signal(MsiSignal signal) {
  std::lock_guard lock(mutex_);
  signal_ = std::move(signal);
}

uint32_t Msix::control_locked(uint16_t vector) const {
  uint32_t v;
  std::memcpy(&v, &table_[vector * kMsixEntrySize + 12], 4);
  return v;
}

bool Msix::masked_locked(uint16_t vector) const {
  return !enabled_ || function_masked_ || !bus_master_ ||
         (control_locked(vector) & kMsixVectorMasked);
}

Msix::Message Msix::message_locked(uint16_t vector) const {
  Message m;
  std::memcpy(&m.address, &table_[vector * kMsixEntrySize], 8);
  std::memcpy(&m.data, &table_[vector * kMsixEntrySize + 8], 4);
  return m;
}

void Msix::collect_unmasked_pending(std::vector<Message>& out) {
  for (uint16_t v = 0; v < vectors_; ++v) {
    uint64_t& word = pending_[v / 64];
    const uint64_t bit = uint64_t{1} << (v % 64);
    if ((word & bit) && !masked_locked(v)) {
      word &= ~bit;
      out.push_back(message_locked(v));
    }
  }
}

void Msix::send(const std::vector<Message>& messages) {
  if (messages.empty()) return;
  MsiSignal signal;
  {
    std::lock_guard lock(mutex_);
    signal = signal_;
  }
  if (!signal) return;
  for (const Message& m : messages) signal(m.address, m.data);
}

void Msix::set_control(bool enabled, bool function_masked, bool bus_master) {
  std::vector<Message> out;
  {
    std::lock_guard lock(mutex_);
    enabled_ = enabled;
    function_masked_ = function_masked;
    bus_master_ = bus_master;
    collect_unmasked_pending(out);
  }
  send(out);
}

void Msix::table_read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = offset + i < table_.size() ? table_[offset + i] : 0;
}

void Msix::table_write(uint64_t offset, std::span<const uint8_t> data) {
  std::vector<Message> out;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size() && offset + i < table_.size(); ++i) {
      const uint64_t at = offset + i;
      // Vector control: only the mask bit is writable (§6.8.2.9); the rest is reserved.
      if (at % kMsixEntrySize >= 12) {
        if (at % kMsixEntrySize == 12) table_[at] = data[i] & kMsixVectorMasked;
        continue;
      }
      table_[at] = data[i];
    }
    collect_unmasked_pending(out);
  }
  send(out);
}

void Msix::pba_read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t byte = offset + i;
    data[i] = byte / 8 < pending_.size()
                  ? static_cast<uint8_t>(pending_[byte / 8] >> (8 * (byte % 8)))
                  : 0;
  }
}

bool Msix::notify(uint16_t vector) {
  std::vector<Message> out;
  {
    std::lock_guard lock(mutex_);
    if (vector >= vectors_) {
      if (!warned_bad_vector_) {
        warned_bad_vector_ = true;
        log::warn("msix: interrupt on vector {} beyond the {}-entry table ignored", vector,
                  vectors_);
      }
      return false;
    }
    if (masked_locked(vector)) {
      pending_[vector / 64] |= uint64_t{1} << (vector % 64);
      return true;
    }
    out.push_back(message_locked(vector));
  }
  send(out);
  return true;
}

bool Msix::enabled() const {
  std::lock_guard lock(mutex_);
  return enabled_;
}

bool Msix::pending(uint16_t vector) const {
  std::lock_guard lock(mutex_);
  return vector < vectors_ && (pending_[vector / 64] >> (vector % 64)) & 1;
}

void Msix::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(table_, pending_, enabled_, function_masked_, bus_master_);
}

void Msix::load_state(bus::StateReader& in) {
  std::lock_guard lock(mutex_);
  in(table_, pending_, enabled_, function_masked_, bus_master_);
  if (table_.size() != table_bytes() || pending_.size() != (vectors_ + 63u) / 64)
    in.fail_with("msi-x: table size does not match the device");
}

}  // namespace vessel::devices::pci
