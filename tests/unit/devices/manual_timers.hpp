// A TimerService for device tests: time stands still until the test advances it, and due
// callbacks run on the test's thread in deadline order, with the clock set to each deadline
// (so periodic timers that re-arm from their callback behave as on the real time line).
#pragma once

#include <functional>
#include <map>

#include "base/timer_queue.hpp"

namespace vessel::test {

class ManualClock final : public Clock {
 public:
  int64_t now_ns() const override { return now; }
  int64_t now = 1'000'000'000;  // not zero: devices must not assume the time line starts at 0
};

class ManualTimers final : public TimerService {
 public:
  const Clock& clock() const override { return clock_; }
  TimerId add(std::function<void()> callback) override {
    timers_[next_] = {std::move(callback), -1};
    return next_++;
  }
  void arm(TimerId id, int64_t deadline) override {
    if (timers_.contains(id)) timers_[id].deadline = deadline;
  }
  void disarm(TimerId id) override {
    if (timers_.contains(id)) timers_[id].deadline = -1;
  }
  void remove(TimerId id) override { timers_.erase(id); }

  int64_t now() const { return clock_.now; }
  // Advances time by `ns`, running every callback that falls due on the way.
  void advance(int64_t ns) {
    const int64_t end = clock_.now + ns;
    for (;;) {
      TimerId due = 0;
      int64_t best = end + 1;
      for (auto& [id, t] : timers_) {
        if (t.deadline >= 0 && t.deadline < best) best = t.deadline, due = id;
      }
      if (due == 0) break;
      if (best > clock_.now) clock_.now = best;
      timers_[due].deadline = -1;
      auto cb = timers_[due].callback;
      cb();
    }
    clock_.now = end;
  }
  bool armed(TimerId id) const { return timers_.contains(id) && timers_.at(id).deadline >= 0; }
  int armed_count() const {
    int n = 0;
    for (auto& [id, t] : timers_) n += t.deadline >= 0;
    return n;
  }

 private:
  struct Entry {
    std::function<void()> callback;
    int64_t deadline = -1;
  };
  ManualClock clock_;
  std::map<TimerId, Entry> timers_;
  TimerId next_ = 1;
};

}  // namespace vessel::test
