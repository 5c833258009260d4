// Clock: where devices read the time. Guest-visible time (PIT, PM timer, LAPIC timer, RTC) must
// follow the host's CLOCK_MONOTONIC so that a `sleep 2` in the guest takes two seconds; devices
// compute counters from elapsed time when read instead of ticking. Tests substitute a manual
// clock. This is not a wall-clock source (the RTC reads the host's UTC time separately).
#pragma once

#include <atomic>
#include <cstdint>
#include <ctime>

namespace vessel {

__extension__ using uint128_t = unsigned __int128;  // GCC/clang extension (-Wpedantic)

class Clock {
 public:
  virtual ~Clock() = default;
  // Nanoseconds on a monotonic time line (arbitrary origin, never goes back).
  virtual int64_t now_ns() const = 0;
};

class MonotonicClock final : public Clock {
 public:
  int64_t now_ns() const override {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }
};

// The VM's time line: the host's monotonic time plus an offset, which stands still while the
// VM is paused and can be set to where a snapshot left it. Devices' timers, the PM timer and
// the software CPU's TSC all read it, so a pause or a save/restore in another process makes
// no guest-visible jump. Thread-safe; pause()/resume()/set() come from one thread at a time.
class VmClock final : public Clock {
 public:
  int64_t now_ns() const override {
    const int64_t frozen = frozen_.load(std::memory_order_acquire);
    if (frozen >= 0) return frozen;
    return host_.now_ns() + offset_.load(std::memory_order_relaxed);
  }
  bool paused() const { return frozen_.load(std::memory_order_acquire) >= 0; }
  void pause() {
    if (!paused()) frozen_.store(now_ns(), std::memory_order_release);
  }
  void resume() {
    const int64_t frozen = frozen_.load(std::memory_order_acquire);
    if (frozen < 0) return;
    offset_.store(frozen - host_.now_ns(), std::memory_order_relaxed);
    frozen_.store(-1, std::memory_order_release);
  }
  // Moves the time line so that now_ns() is `ns` (paused or not, as it was).
  void set(int64_t ns) {
    if (paused()) {
      frozen_.store(ns, std::memory_order_release);
    } else {
      offset_.store(ns - host_.now_ns(), std::memory_order_relaxed);
    }
  }

 private:
  MonotonicClock host_;
  std::atomic<int64_t> offset_{0};
  std::atomic<int64_t> frozen_{-1};  // the time while paused; -1 while running
};

// Whole ticks of a `hz` counter elapsed in `ns` nanoseconds (128-bit intermediate: no overflow
// for any uptime a VM reaches).
inline uint64_t ticks_in(int64_t ns, uint64_t hz) {
  if (ns <= 0) return 0;
  return static_cast<uint64_t>((static_cast<uint128_t>(ns) * hz) / 1'000'000'000u);
}

// Nanoseconds until `ticks` ticks of a `hz` counter have elapsed (rounded up, so that the
// counter has really reached the value when a timer set by this fires).
inline int64_t ns_for_ticks(uint64_t ticks, uint64_t hz) {
  const auto ns = (static_cast<uint128_t>(ticks) * 1'000'000'000u + hz - 1) / hz;
  return ns > INT64_MAX ? INT64_MAX : static_cast<int64_t>(ns);
}

}  // namespace vessel
