#include "devices/virtio/virtqueue.hpp"

#include <atomic>
#include <bit>
#include <cstring>

#include "base/log.hpp"
#include "devices/virtio/virtio_spec.hpp"

namespace vessel::devices::virtio {
namespace {

// Ring fields are shared with vCPUs running the driver: indices are accessed atomically with
// the ordering §2.7.13 asks for (read avail.idx before the ring entries it covers; publish
// used entries before used.idx). Offsets are aligned because enable() checked the bases.
uint16_t load16(std::span<uint8_t> ring, size_t at) {
  return __atomic_load_n(reinterpret_cast<uint16_t*>(ring.data() + at), __ATOMIC_ACQUIRE);
}
void store16(std::span<uint8_t> ring, size_t at, uint16_t v) {
  __atomic_store_n(reinterpret_cast<uint16_t*>(ring.data() + at), v, __ATOMIC_RELEASE);
}

struct Desc {
  uint64_t addr;
  uint32_t len;
  uint16_t flags;
  uint16_t next;
};

Desc read_desc(std::span<const uint8_t> table, uint32_t index) {
  Desc d;
  const uint8_t* p = table.data() + uint64_t{index} * kDescSize;
  std::memcpy(&d.addr, p, 8);
  std::memcpy(&d.len, p + 8, 4);
  std::memcpy(&d.flags, p + 12, 2);
  std::memcpy(&d.next, p + 14, 2);
  return d;
}

}  // namespace

Result<void> Virtqueue::enable(const memory::GuestMemory& memory, const QueueConfig& c,
                               uint64_t features) {
  if (c.size == 0 || !std::has_single_bit(c.size) || c.size > max_size_)
    return fail("{}: queue size {} is not a power of two in 1..{}", name_, c.size, max_size_);
  // Alignment: descriptor table 16, driver area 2, device area 4 (§2.7, "Virtqueue Alignment").
  if (c.desc % 16 || c.driver % 2 || c.device % 4)
    return fail("{}: misaligned rings ({:#x}, {:#x}, {:#x})", name_, c.desc, c.driver, c.device);
  const bool event_idx = features & feature_bit(kFeatureEventIdx);
  auto desc = memory.span(c.desc, kDescSize * c.size);
  auto avail = memory.span(c.driver, 6 + 2 * uint64_t{c.size});
  auto used = memory.span(c.device, 6 + 8 * uint64_t{c.size});
  if (!desc || !avail || !used) return fail("{}: rings outside guest RAM", name_);
  memory_ = &memory;
  size_ = c.size;
  desc_ = *desc;
  avail_ = *avail;
  used_ = *used;
  indirect_ = features & feature_bit(kFeatureIndirectDesc);
  event_idx_ = event_idx;
  last_avail_ = used_idx_ = signalled_used_ = 0;
  in_flight_.assign(size_, false);
  broken_ = false;
  ready_ = true;
  return {};
}

void Virtqueue::reset() {
  ready_ = broken_ = false;
  size_ = 0;
  desc_ = avail_ = used_ = {};
  last_avail_ = used_idx_ = signalled_used_ = 0;
  in_flight_.clear();
}

void Virtqueue::warn_once(const std::string& what) const {
  if (warned_) return;
  warned_ = true;
  log::warn("virtio {}: {} (further problems on this queue are not logged)", name_, what);
}

void Virtqueue::break_queue(const std::string& why) {
  broken_ = true;
  warn_once(why + "; the device needs a reset");
}

void Virtqueue::set_avail_event() {
  if (event_idx_) store16(used_, 4 + 8 * size_t{size_}, last_avail_);
}

Virtqueue::Pop Virtqueue::pop(DescriptorChain& out) {
  if (!ready_ || broken_) return broken_ ? Pop::kBroken : Pop::kEmpty;
  for (;;) {
    uint16_t avail_idx = load16(avail_, 2);
    if (avail_idx == last_avail_) {
      // Ask to be notified of the next buffer, then look again: the driver may have added one
      // before seeing avail_event (§2.7.10 needs the full barrier in between).
      set_avail_event();
      std::atomic_thread_fence(std::memory_order_seq_cst);
      avail_idx = load16(avail_, 2);
      if (avail_idx == last_avail_) return Pop::kEmpty;
    }
    if (static_cast<uint16_t>(avail_idx - last_avail_) > size_) {
      break_queue(fmt::format("avail.idx jumped from {} to {} (queue size {})", last_avail_,
                              avail_idx, size_));
      return Pop::kBroken;
    }
    const uint16_t head = load16(avail_, 4 + 2 * (size_t{last_avail_} % size_));
    if (head >= size_) {
      break_queue(fmt::format("head {} outside the {}-entry table", head, size_));
      return Pop::kBroken;
    }
    if (in_flight_[head]) {
      break_queue(fmt::format("head {} made available twice", head));
      return Pop::kBroken;
    }
    ++last_avail_;
    set_avail_event();
    out.clear();
    out.head = head;
    in_flight_[head] = true;
    if (auto r = walk(head, out); !r) {
      ++failed_chains_;
      warn_once(fmt::format("chain at head {} refused: {}", head, r.error().message));
      push_used(head, 0);  // the request fails; the driver gets its buffers back
      continue;
    }
    return Pop::kChain;
  }
}

Result<void> Virtqueue::add_buffer(uint64_t addr, uint32_t len, bool writable,
                                   DescriptorChain& out) const {
  if (!writable && !out.writable.empty()) return fail("readable buffer after a writable one");
  if (len == 0) return {};  // nothing to transfer; no address to check
  auto bytes = memory_->span(addr, len);
  if (!bytes) return fail("buffer [{:#x}, +{:#x}) outside guest RAM", addr, len);
  if (writable) {
    // The device may fill it any time until it is used: the software CPU forgets code it
    // cached for these pages now (they can only hold code again after the request ends).
    memory_->note_device_write(addr, len);
    out.writable.push_back(*bytes);
    out.writable_bytes += len;
  } else {
    out.readable.push_back(*bytes);
    out.readable_bytes += len;
  }
  return {};
}

Result<void> Virtqueue::walk(uint16_t head, DescriptorChain& out) const {
  std::span<const uint8_t> table = desc_;
  uint32_t entries = size_;
  bool in_indirect = false;
  uint32_t index = head, walked = 0;
  for (;;) {
    if (index >= entries) return fail("next index {} outside a {}-entry table", index, entries);
    // Every table holds `entries` descriptors: walking more means a loop.
    if (++walked > entries) return fail("chain longer than its table ({}): a loop", entries);
    const Desc d = read_desc(table, index);
    if (d.flags & kDescFlagIndirect) {
      if (!indirect_) return fail("indirect descriptor without INDIRECT_DESC");
      if (in_indirect) return fail("indirect table inside an indirect table");
      if (d.flags & kDescFlagNext) return fail("indirect descriptor with NEXT");
      if (d.len == 0 || d.len % kDescSize) return fail("indirect table of {} bytes", d.len);
      if (d.len / kDescSize > kMaxIndirectEntries)
        return fail("indirect table of {} entries", d.len / kDescSize);
      auto t = memory_->span(d.addr, d.len);
      if (!t) return fail("indirect table [{:#x}, +{:#x}) outside guest RAM", d.addr, d.len);
      table = *t;
      entries = d.len / kDescSize;
      in_indirect = true;
      index = walked = 0;
      continue;
    }
    VESSEL_TRY_VOID(add_buffer(d.addr, d.len, d.flags & kDescFlagWrite, out));
    if (!(d.flags & kDescFlagNext)) return {};
    index = d.next;
  }
}

void Virtqueue::push_used(uint16_t head, uint32_t written) {
  if (!ready_ || head >= size_ || !in_flight_[head]) {
    warn_once(fmt::format("device returned head {} that is not in flight", head));
    return;
  }
  in_flight_[head] = false;
  const size_t slot = 4 + 8 * (size_t{used_idx_} % size_);
  const uint32_t id = head;
  std::memcpy(used_.data() + slot, &id, 4);
  std::memcpy(used_.data() + slot + 4, &written, 4);
  ++used_idx_;
  store16(used_, 2, used_idx_);  // release: the entry is visible before the index
}

bool Virtqueue::needs_notification() {
  if (!ready_ || used_idx_ == signalled_used_) return false;
  // The used index must be visible before we read the driver's suppression fields (§2.7.10).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  const uint16_t old = signalled_used_, now = used_idx_;
  signalled_used_ = now;
  if (!event_idx_) return !(load16(avail_, 0) & kAvailFlagNoInterrupt);
  const uint16_t used_event = load16(avail_, 4 + 2 * size_t{size_});
  // vring_need_event (§2.7.10): notify if used_event lies in [old, now).
  return static_cast<uint16_t>(now - used_event - 1) < static_cast<uint16_t>(now - old);
}

void Virtqueue::save_state(bus::StateWriter& out) const {
  out(ready_, broken_, last_avail_, used_idx_, signalled_used_, in_flight_, failed_chains_);
}

Result<void> Virtqueue::load_state(bus::StateReader& in, const memory::GuestMemory& memory,
                                   const QueueConfig& config, uint64_t features) {
  bool ready = false, broken = false;
  uint16_t last_avail = 0, used_idx = 0, signalled_used = 0;
  std::vector<bool> in_flight;
  uint64_t failed = 0;
  in(ready, broken, last_avail, used_idx, signalled_used, in_flight, failed);
  if (!in.ok()) return fail("{}: {}", name_, in.finish().error().message);
  reset();
  failed_chains_ = failed;
  if (!ready) return {};
  // The rings are in the restored guest memory: validate them as the driver's enable did.
  VESSEL_TRY_VOID(enable(memory, config, features));
  if (in_flight.size() != size_) return fail("{}: in-flight table does not match the size", name_);
  last_avail_ = last_avail;
  used_idx_ = used_idx;
  signalled_used_ = signalled_used;
  in_flight_ = std::move(in_flight);
  broken_ = broken;
  return {};
}

}  // namespace vessel::devices::virtio
