// Timers for devices: a device registers a callback once (add), then arms it for a deadline
// on the Clock's time line, re-arms or disarms it as the guest reprograms the device. Used by
// the PIT (IRQ 0), the LAPIC timer and the RTC (periodic/update interrupts). Periodic timers
// re-arm themselves from their callback.
//
// TimerService is the interface devices see (tests drive a manual implementation); TimerQueue
// is the real one: one host thread that sleeps until the earliest deadline and runs callbacks.
//
// Rules that make cancellation safe:
// - Callbacks run on the timer thread with no TimerQueue lock held; they may call arm/disarm
//   (for any timer, their own included).
// - disarm() never blocks: a callback that has already started may still finish. Devices
//   therefore check, under their own lock, that the event is still due (a generation count or
//   the deadline) — so disarm() may be called while holding a device lock.
// - remove() disarms and waits for a running callback to finish (unless called from that very
//   callback); after it returns the callback never runs again. Call it from a device's
//   destructor, never while holding a lock the callback takes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/clock.hpp"

namespace vessel {

using TimerId = uint64_t;

class TimerService {
 public:
  virtual ~TimerService() = default;
  virtual const Clock& clock() const = 0;
  virtual TimerId add(std::function<void()> callback) = 0;
  // (Re)arms: the callback runs once at or after `deadline_ns` (Clock time). Replaces any
  // earlier deadline of the same timer. Unknown ids are ignored.
  virtual void arm(TimerId id, int64_t deadline_ns) = 0;
  virtual void disarm(TimerId id) = 0;
  virtual void remove(TimerId id) = 0;
};

class TimerQueue final : public TimerService {
 public:
  // Deadlines are on `clock` (which must outlive the queue), or the host's monotonic clock.
  TimerQueue();
  explicit TimerQueue(const Clock& clock);  // starts the thread
  ~TimerQueue() override;                   // stops it; pending timers are dropped
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  const Clock& clock() const override { return clock_; }
  // While paused no callback starts; pause() returns once a running one has finished. Arming
  // still works.
  // Used with a paused VmClock so that devices do not change state while the VM is paused.
  void pause();
  void resume();
  TimerId add(std::function<void()> callback) override;
  void arm(TimerId id, int64_t deadline_ns) override;
  void disarm(TimerId id) override;
  void remove(TimerId id) override;

 private:
  struct Entry {
    std::function<void()> callback;
    int64_t deadline = -1;  // -1: not armed
  };
  void run();
  void unschedule(TimerId id, Entry& e);  // mutex_ held

  MonotonicClock own_clock_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;      // the thread: a deadline changed or stop
  std::condition_variable finished_;  // remove(): the running callback finished
  std::map<TimerId, Entry> timers_;
  std::set<std::pair<int64_t, TimerId>> queue_;  // armed timers by deadline
  TimerId next_id_ = 1;
  TimerId running_ = 0;  // the timer whose callback runs now (0: none)
  bool stop_ = false;
  bool paused_ = false;
  std::thread thread_;  // last: starts after the state above is built
};

}  // namespace vessel
