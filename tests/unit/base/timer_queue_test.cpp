#include "base/timer_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace vessel {
namespace {

using namespace std::chrono_literals;

TEST(TimerQueue, FiresAtDeadline) {
  TimerQueue q;
  std::atomic<int64_t> fired_at{0};
  const TimerId id = q.add([&] { fired_at = q.clock().now_ns(); });
  const int64_t deadline = q.clock().now_ns() + 20'000'000;
  q.arm(id, deadline);
  std::this_thread::sleep_for(100ms);
  EXPECT_GE(fired_at.load(), deadline);
  EXPECT_LT(fired_at.load(), deadline + 80'000'000);
}

TEST(TimerQueue, DisarmAndRearm) {
  TimerQueue q;
  std::atomic<int> count{0};
  const TimerId id = q.add([&] { ++count; });
  q.arm(id, q.clock().now_ns() + 10'000'000);
  q.disarm(id);
  std::this_thread::sleep_for(40ms);
  EXPECT_EQ(count.load(), 0);
  q.arm(id, q.clock().now_ns() + 50'000'000);
  q.arm(id, q.clock().now_ns() + 1'000'000);  // re-arming replaces the deadline
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(count.load(), 1);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(count.load(), 1);
}

TEST(TimerQueue, PeriodicByRearmingFromCallback) {
  TimerQueue q;
  std::atomic<int> count{0};
  TimerId id = 0;
  id = q.add([&] {
    if (++count < 5) q.arm(id, q.clock().now_ns() + 2'000'000);
  });
  q.arm(id, 0);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(count.load(), 5);
}

TEST(TimerQueue, RemoveWaitsForRunningCallback) {
  TimerQueue q;
  std::atomic<bool> started{false}, finished{false};
  const TimerId id = q.add([&] {
    started = true;
    std::this_thread::sleep_for(30ms);
    finished = true;
  });
  q.arm(id, 0);
  while (!started) std::this_thread::yield();
  q.remove(id);
  EXPECT_TRUE(finished.load());
  q.arm(id, 0);  // unknown now: ignored
}

TEST(TimerQueue, RemoveFromOwnCallback) {
  TimerQueue q;
  std::atomic<int> count{0};
  TimerId id = 0;
  id = q.add([&] {
    ++count;
    q.remove(id);
  });
  q.arm(id, 0);
  std::this_thread::sleep_for(20ms);
  q.arm(id, 0);
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(count.load(), 1);
}

TEST(TimerQueue, OrdersByDeadline) {
  TimerQueue q;
  std::mutex m;
  std::vector<int> order;
  const int64_t now = q.clock().now_ns();
  for (int i : {3, 1, 2}) {
    const TimerId id = q.add([&, i] {
      std::lock_guard lock(m);
      order.push_back(i);
    });
    q.arm(id, now + i * 5'000'000);
  }
  std::this_thread::sleep_for(60ms);
  std::lock_guard lock(m);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

}  // namespace
TEST(VmClock, StandsStillWhilePausedAndGoesOnWithoutAJump) {
  VmClock clock;
  const int64_t t0 = clock.now_ns();
  clock.pause();
  EXPECT_TRUE(clock.paused());
  const int64_t frozen = clock.now_ns();
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(clock.now_ns(), frozen);
  clock.resume();
  EXPECT_FALSE(clock.paused());
  const int64_t after = clock.now_ns();
  EXPECT_GE(after, frozen);
  EXPECT_LT(after - t0, 25'000'000);  // the 30 ms paused are not on the time line
}

TEST(VmClock, SetMovesTheTimeLine) {
  VmClock clock;
  clock.set(5'000'000'000'000);
  EXPECT_GE(clock.now_ns(), 5'000'000'000'000);
  EXPECT_LT(clock.now_ns(), 5'000'100'000'000);
  clock.pause();
  clock.set(42);
  EXPECT_EQ(clock.now_ns(), 42);
  clock.resume();
  EXPECT_GE(clock.now_ns(), 42);
}

TEST(TimerQueue, PausedQueueRunsNoCallbackUntilResumed) {
  VmClock clock;
  TimerQueue q(clock);
  std::atomic<int> count{0};
  const TimerId id = q.add([&] { ++count; });
  q.pause();
  clock.pause();
  q.arm(id, clock.now_ns());  // due at once, but paused
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(count.load(), 0);
  clock.resume();
  q.resume();
  for (int i = 0; i < 100 && count.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(count.load(), 1);
}

}  // namespace vessel
