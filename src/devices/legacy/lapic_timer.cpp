// LocalApic: the APIC timer (SDM Vol. 3A 10.5.4). The current count is computed from the time
// since the initial count was written; a TimerService timer delivers the LVT timer interrupt at
// each expiry. One tick of the bus clock (kBusHz) per nanosecond, before the divider.
#include <algorithm>

#include "devices/legacy/lapic.hpp"
#include "devices/legacy/lapic_registers.hpp"

namespace vessel::devices {

using namespace lapic_regs;

namespace {
// A periodic timer never fires more often than this: a guest programming a 1-tick period would
// otherwise keep a host thread busy. Well below any period a kernel uses (HZ=1000 is 1 ms).
constexpr int64_t kMinPeriodNs = 10'000;
}  // namespace

uint64_t LocalApic::divisor() const {
  // Divide configuration bits 3, 1, 0 (SDM figure 10-10): 0b111 is 1, otherwise 2^(value+1).
  const uint32_t v = (divide_config_ & 3) | ((divide_config_ >> 1) & 4);
  return v == 7 ? 1 : uint64_t{2} << v;
}

bool LocalApic::timer_periodic() const {
  return lvt_[kLvtTimerIndex] & kLvtTimerPeriodic;
}

uint32_t LocalApic::current_count(int64_t now) const {
  if (initial_count_ == 0) return 0;
  const uint64_t elapsed = ticks_in(now - timer_start_, kBusHz) / divisor();
  if (timer_periodic()) return static_cast<uint32_t>(initial_count_ - elapsed % initial_count_);
  return elapsed >= initial_count_ ? 0 : static_cast<uint32_t>(initial_count_ - elapsed);
}

void LocalApic::start_timer(int64_t now) {
  timer_start_ = now;
  schedule_timer(now);
}

void LocalApic::schedule_timer(int64_t now) {
  timer_deadline_ = -1;
  if (initial_count_ != 0) {
    const int64_t period = ns_for_ticks(uint64_t{initial_count_} * divisor(), kBusHz);
    const int64_t elapsed = now - timer_start_;
    if (timer_periodic()) {
      const int64_t step = std::max(period, kMinPeriodNs);
      timer_deadline_ = timer_start_ + (elapsed < period ? period : (elapsed / step + 1) * step);
    } else if (elapsed < period) {
      timer_deadline_ = timer_start_ + period;
    }
  }
  if (timer_deadline_ >= 0) {
    timers_.arm(timer_, timer_deadline_);
  } else {
    timers_.disarm(timer_);
  }
}

void LocalApic::on_timer() {
  {
    std::lock_guard lock(mutex_);
    const int64_t now = timers_.clock().now_ns();
    if (timer_deadline_ < 0) return;  // stopped or reprogrammed meanwhile
    if (now < timer_deadline_) return timers_.arm(timer_, timer_deadline_);
    raise_local(lvt_[kLvtTimerIndex]);  // a masked LVT counts but does not interrupt
    if (timer_periodic()) {
      schedule_timer(now);  // missed periods coalesce into this one interrupt
    } else {
      timer_deadline_ = -1;
    }
  }
  wake();
}

}  // namespace vessel::devices
