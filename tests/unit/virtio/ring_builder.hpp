// A fake split virtqueue laid out in a test's GuestMemory, written the way a driver would.
#pragma once

#include <cstdint>
#include <cstring>

#include "devices/virtio/virtio_spec.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::devices::virtio::test {

struct RingBuilder {
  static constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000;
  const memory::GuestMemory& mem;
  uint16_t size;
  uint64_t base = 0;  // added to the three ring addresses: several queues in one memory

  QueueConfig config() const {
    return QueueConfig{size, kDesc + base, kAvail + base, kUsed + base};
  }
  void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next = 0,
            uint64_t table = kDesc) {
    if (table == kDesc) table += base;
    uint8_t d[16];
    std::memcpy(d, &addr, 8);
    std::memcpy(d + 8, &len, 4);
    std::memcpy(d + 12, &flags, 2);
    std::memcpy(d + 14, &next, 2);
    (void)mem.write(table + 16 * uint64_t{i}, d);
  }
  uint16_t avail_idx() const { return *mem.read_obj<uint16_t>(kAvail + base + 2); }
  void set_avail_idx(uint16_t v) { (void)mem.write_obj<uint16_t>(kAvail + base + 2, v); }
  void set_avail_flags(uint16_t v) { (void)mem.write_obj<uint16_t>(kAvail + base, v); }
  // Makes `head` available in the next ring slot.
  void publish(uint16_t head) {
    const uint16_t idx = avail_idx();
    (void)mem.write_obj<uint16_t>(kAvail + base + 4 + 2 * (uint64_t{idx} % size), head);
    set_avail_idx(static_cast<uint16_t>(idx + 1));
  }
  void set_used_event(uint16_t v) {
    (void)mem.write_obj<uint16_t>(kAvail + base + 4 + 2 * size, v);
  }
  uint16_t avail_event() const { return *mem.read_obj<uint16_t>(kUsed + base + 4 + 8 * size); }
  uint16_t used_idx() const { return *mem.read_obj<uint16_t>(kUsed + base + 2); }
  uint32_t used_id(uint16_t slot) const {
    return *mem.read_obj<uint32_t>(kUsed + base + 4 + 8 * slot);
  }
  uint32_t used_len(uint16_t slot) const {
    return *mem.read_obj<uint32_t>(kUsed + base + 8 + 8 * slot);
  }
};

}  // namespace vessel::devices::virtio::test
