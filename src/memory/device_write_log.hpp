// DeviceWriteLog: the guest-physical ranges that devices wrote behind the CPUs' backs (DMA:
// virtio buffers the device fills, copies into guest RAM). A software CPU that caches decoded
// or translated code by physical page reads the ranges written since it last looked and drops
// what it cached for them, as a real CPU's caches snoop DMA; without this, a program read
// from disk into a page that held other code would run stale instructions.
//
// A bounded ring with a sequence number: writers (device threads, vCPU threads serving a
// notification) append under a mutex; a reader that fell more than the ring's size behind is
// told so and must forget everything it cached. seq() is one atomic load, cheap enough for
// every block boundary.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>

namespace vessel::memory {

class DeviceWriteLog {
 public:
  struct Range {
    uint64_t gpa = 0;
    uint64_t len = 0;
  };
  static constexpr size_t kCapacity = 1024;

  void record(uint64_t gpa, uint64_t len) {
    if (len == 0) return;
    std::lock_guard lock(mutex_);
    const uint64_t seq = seq_.load(std::memory_order_relaxed);
    ranges_[seq % kCapacity] = Range{gpa, len};
    seq_.store(seq + 1, std::memory_order_release);
  }

  uint64_t seq() const { return seq_.load(std::memory_order_acquire); }

  // Calls fn(Range) for each range recorded since `seen` and advances `seen`. Returns false
  // (after advancing `seen`) when some of those ranges were already overwritten: the caller
  // must then treat all of memory as written.
  template <class Fn>
  bool read_since(uint64_t& seen, Fn&& fn) const {
    std::lock_guard lock(mutex_);
    const uint64_t now = seq_.load(std::memory_order_relaxed);
    const bool complete = now - seen <= kCapacity;
    if (complete)
      for (uint64_t s = seen; s < now; ++s) fn(ranges_[s % kCapacity]);
    seen = now;
    return complete;
  }

 private:
  mutable std::mutex mutex_;
  std::atomic<uint64_t> seq_{0};
  std::array<Range, kCapacity> ranges_{};
};

}  // namespace vessel::memory
