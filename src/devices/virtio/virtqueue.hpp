// Virtqueue: the device side of one split virtqueue (virtio 1.2 §2.7): the descriptor table,
// the driver ("available") ring and the device ("used") ring in guest RAM.
//
// A hostile driver must not hurt the VMM, so everything read from the rings is copied once and
// validated before use:
//  - configuration (enable()): size a power of two in 1..max, rings aligned (§2.7 table) and
//    wholly inside guest RAM;
//  - per chain (pop()): next indices inside the table, no loops (at most queue-size descriptors,
//    or the indirect table's entry count), buffers inside guest RAM, INDIRECT_DESC only when
//    negotiated, indirect tables of a non-zero multiple of 16 bytes, not nested, not chained
//    with NEXT, no device-readable buffer after a device-writable one. Such a chain is returned
//    to the driver at once with length 0 (the request fails) and the queue goes on;
//  - per queue: avail.idx moving more than the queue size, a head index outside the table or
//    a head already in flight make the queue broken: pop() answers kBroken from then on and the
//    transport marks the device DEVICE_NEEDS_RESET (§2.1.2).
// EVENT_IDX (§2.7.7, §2.7.10): avail_event is written on every pop; used_event decides
// notifications. The first problem is logged (once per queue); none ever aborts.
//
// Not thread-safe: the owning device serialises access (virtio_core.hpp holds one lock).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "bus/device_state.hpp"
#include "devices/virtio/descriptor_chain.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::devices::virtio {

// Driver-visible configuration of a queue (PCI common config / virtio-mmio queue registers).
struct QueueConfig {
  uint16_t size = 0;
  uint64_t desc = 0;    // descriptor table
  uint64_t driver = 0;  // available ring
  uint64_t device = 0;  // used ring
};

class Virtqueue {
 public:
  // Largest indirect table accepted (entries); Linux never builds more than seg_max + 2.
  static constexpr uint32_t kMaxIndirectEntries = 1024;

  enum class Pop { kChain, kEmpty, kBroken };

  Virtqueue(std::string name, uint16_t max_size) : name_(std::move(name)), max_size_(max_size) {}

  uint16_t max_size() const { return max_size_; }
  bool ready() const { return ready_; }
  bool broken() const { return broken_; }

  // Validates `config` against guest RAM and starts using it. `features` are the negotiated
  // ones (INDIRECT_DESC, EVENT_IDX).
  Result<void> enable(const memory::GuestMemory& memory, const QueueConfig& config,
                      uint64_t features);
  void reset();

  // Takes the next available chain into `out` (reusing its storage).
  Pop pop(DescriptorChain& out);
  // Returns chain `head` to the driver with `written` bytes written into its buffers.
  void push_used(uint16_t head, uint32_t written);
  // Whether the driver wants an interrupt for the used entries added since the last call.
  bool needs_notification();

  uint16_t last_avail_idx() const { return last_avail_; }
  uint16_t used_idx() const { return used_idx_; }
  uint64_t failed_chains() const { return failed_chains_; }

  // Snapshots: the in-flight positions (last_avail_idx, used idx, event index, chains taken
  // and not returned). load_state re-validates the rings with enable() first when the saved
  // queue was in use.
  void save_state(bus::StateWriter& out) const;
  Result<void> load_state(bus::StateReader& in, const memory::GuestMemory& memory,
                          const QueueConfig& config, uint64_t features);

 private:
  Result<void> walk(uint16_t head, DescriptorChain& out) const;
  Result<void> add_buffer(uint64_t addr, uint32_t len, bool writable, DescriptorChain& out) const;
  void break_queue(const std::string& why);
  void warn_once(const std::string& what) const;
  void set_avail_event();

  std::string name_;
  uint16_t max_size_;
  const memory::GuestMemory* memory_ = nullptr;
  bool ready_ = false;
  bool broken_ = false;
  bool indirect_ = false;
  bool event_idx_ = false;
  uint16_t size_ = 0;
  std::span<uint8_t> desc_, avail_, used_;
  uint16_t last_avail_ = 0;
  uint16_t used_idx_ = 0;
  uint16_t signalled_used_ = 0;
  std::vector<bool> in_flight_;
  uint64_t failed_chains_ = 0;
  mutable bool warned_ = false;
};

}  // namespace vessel::devices::virtio
