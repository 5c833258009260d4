#include "base/timer_queue.hpp"

#include <chrono>

namespace vessel {

TimerQueue::TimerQueue() : TimerQueue(own_clock_) {}

TimerQueue::TimerQueue(const Clock& clock) : clock_(clock), thread_([this] { run(); }) {}

void TimerQueue::pause() {
  std::unique_lock lock(mutex_);
  paused_ = true;
  // A callback already running finishes first, so that devices are still once this returns
  // (a snapshot reads them next). From the timer thread itself there is nothing to wait for.
  if (std::this_thread::get_id() != thread_.get_id())
    finished_.wait(lock, [&] { return running_ == 0; });
}

void TimerQueue::resume() {
  {
    std::lock_guard lock(mutex_);
    paused_ = false;
  }
  wake_.notify_all();
}

TimerQueue::~TimerQueue() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

TimerId TimerQueue::add(std::function<void()> callback) {
  std::lock_guard lock(mutex_);
  const TimerId id = next_id_++;
  timers_.emplace(id, Entry{std::move(callback), -1});
  return id;
}

void TimerQueue::unschedule(TimerId id, Entry& e) {
  if (e.deadline >= 0) queue_.erase({e.deadline, id});
  e.deadline = -1;
}

void TimerQueue::arm(TimerId id, int64_t deadline_ns) {
  {
    std::lock_guard lock(mutex_);
    auto it = timers_.find(id);
    if (it == timers_.end()) return;
    unschedule(id, it->second);
    it->second.deadline = deadline_ns < 0 ? 0 : deadline_ns;
    queue_.emplace(it->second.deadline, id);
  }
  wake_.notify_all();
}

void TimerQueue::disarm(TimerId id) {
  std::lock_guard lock(mutex_);
  auto it = timers_.find(id);
  if (it != timers_.end()) unschedule(id, it->second);
}

void TimerQueue::remove(TimerId id) {
  std::unique_lock lock(mutex_);
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  unschedule(id, it->second);
  // Waiting for ourselves would never end: from its own callback the removal is immediate and
  // run() drops the entry once the callback returns.
  if (std::this_thread::get_id() != thread_.get_id()) {
    finished_.wait(lock, [&] { return running_ != id; });
  }
  it = timers_.find(id);  // the callback may have re-armed it meanwhile
  if (it == timers_.end()) return;
  unschedule(id, it->second);
  timers_.erase(it);
}

void TimerQueue::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (queue_.empty() || paused_) {
      wake_.wait(lock);
      continue;
    }
    const auto [deadline, id] = *queue_.begin();
    const int64_t now = clock_.now_ns();
    if (deadline > now) {
      // wait_for on the steady clock (CLOCK_MONOTONIC on Linux); re-check after any wake-up.
      wake_.wait_for(lock, std::chrono::nanoseconds(deadline - now));
      continue;
    }
    queue_.erase(queue_.begin());
    auto it = timers_.find(id);
    it->second.deadline = -1;
    running_ = id;
    // Copy: the callback may re-arm or remove its own timer while it runs.
    auto callback = it->second.callback;
    lock.unlock();
    callback();
    lock.lock();
    running_ = 0;
    finished_.notify_all();
  }
}

}  // namespace vessel
