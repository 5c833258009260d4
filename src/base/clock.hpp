// Clock: where devices read the time. Guest-visible time (PIT, PM timer, LAPIC timer, RTC) must
// follow the host's CLOCK_MONOTONIC so that a `sleep 2` in the guest takes two seconds; devices
// compute counters from elapsed time when read instead of ticking. Tests substitute a manual
// clock. This is not a wall-clock source (the RTC reads the host's UTC time separately).
#pragma once

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
