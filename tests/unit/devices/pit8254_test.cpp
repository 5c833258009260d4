#include "devices/legacy/pit8254.hpp"

#include <gtest/gtest.h>

#include "manual_timers.hpp"

namespace vessel::devices {
namespace {

struct IrqRecorder : bus::IrqSink {
  void set_irq_level(uint32_t gsi, bool level) override {
    if (gsi == 0 && level) ++rises;
  }
  int rises = 0;
};

constexpr int64_t kTickNs = 838;  // one PIT tick is 838.1 ns

class Pit8254Test : public ::testing::Test {
 protected:
  void out(uint16_t port, uint8_t v) { pit.write(port, std::span(&v, 1)); }
  uint8_t in(uint16_t port) {
    uint8_t v = 0;
    pit.read(port, std::span(&v, 1));
    return v;
  }
  uint16_t read_lohi(uint16_t port) {
    const uint8_t lo = in(port);
    return static_cast<uint16_t>(lo | in(port) << 8);
  }
  int64_t ticks_ns(uint64_t n) { return ns_for_ticks(n, Pit8254::kFrequencyHz); }

  test::ManualTimers timers;
  IrqRecorder irq;
  Pit8254 pit{timers, bus::IrqLine(&irq, 0)};
};

TEST_F(Pit8254Test, Mode0CountsDownAndRaisesOutput) {
  out(0x61, 0x01);  // gate 2 high, speaker off
  out(0x43, 0xb0);  // channel 2, lo/hi, mode 0
  out(0x42, 0xe8);
  out(0x42, 0x03);  // 1000 ticks
  EXPECT_EQ(in(0x61) & 0x20, 0);
  timers.advance(ticks_ns(400));
  EXPECT_EQ(read_lohi(0x42), 600);
  EXPECT_EQ(in(0x61) & 0x20, 0);
  timers.advance(ticks_ns(600));
  EXPECT_EQ(in(0x61) & 0x20, 0x20);
  // Keeps counting through 0xffff after terminal count.
  timers.advance(ticks_ns(1));
  EXPECT_EQ(read_lohi(0x42), 0xffff);
}

TEST_F(Pit8254Test, QuickPitCalibrateMsbPattern) {
  // quick_pit_calibrate(): mode 0 on channel 2 with 0xffff, then reads LSB and MSB in turn and
  // expects the MSB to step down by one every 256 ticks.
  out(0x61, (in(0x61) & ~0x02) | 0x01);
  out(0x43, 0xb0);
  out(0x42, 0xff);
  out(0x42, 0xff);
  int expect = 0xff;
  for (int step = 0; step < 50; ++step) {
    in(0x42);
    const int msb = in(0x42);
    ASSERT_EQ(msb, expect) << "step " << step;
    timers.advance(ticks_ns(256));
    --expect;
  }
}

TEST_F(Pit8254Test, GateLowSuspendsMode0) {
  out(0x61, 0x01);
  out(0x43, 0xb0);
  out(0x42, 0x00);
  out(0x42, 0x10);  // 4096
  timers.advance(ticks_ns(96));
  out(0x61, 0x00);
  timers.advance(ticks_ns(1000));
  EXPECT_EQ(read_lohi(0x42), 4000);
  out(0x61, 0x01);
  timers.advance(ticks_ns(1000));
  EXPECT_EQ(read_lohi(0x42), 3000);
}

TEST_F(Pit8254Test, Mode2PeriodicIrq0) {
  out(0x43, 0x34);  // channel 0, lo/hi, mode 2 (Linux's periodic PIT)
  out(0x40, 0x9c);
  out(0x40, 0x2e);  // 11932 ticks: 10 ms
  EXPECT_EQ(irq.rises, 0);
  timers.advance(10'000'000 + 20'000);
  EXPECT_EQ(irq.rises, 1);
  timers.advance(90'000'000);
  EXPECT_EQ(irq.rises, 10);
  // Reprogramming with the control word stops it (count not yet written).
  out(0x43, 0x30);
  timers.advance(50'000'000);
  EXPECT_EQ(irq.rises, 10);
}

TEST_F(Pit8254Test, Mode4OneShotIrq0) {
  out(0x43, 0x38);  // Linux's one-shot clockevent: mode 4
  out(0x40, 100);
  out(0x40, 0);
  timers.advance(ticks_ns(99));
  EXPECT_EQ(irq.rises, 0);
  timers.advance(ticks_ns(5));
  EXPECT_EQ(irq.rises, 1);
  timers.advance(100'000'000);
  EXPECT_EQ(irq.rises, 1);
}

TEST_F(Pit8254Test, Mode0OneShotIrq0) {
  out(0x43, 0x30);
  out(0x40, 0x00);
  out(0x40, 0x01);  // 256
  timers.advance(ticks_ns(255));
  EXPECT_EQ(irq.rises, 0);
  timers.advance(ticks_ns(1));
  EXPECT_EQ(irq.rises, 1);
  timers.advance(ticks_ns(100000));
  EXPECT_EQ(irq.rises, 1);
}

TEST_F(Pit8254Test, LatchCommandFreezesValue) {
  out(0x43, 0x34);
  out(0x40, 0x00);
  out(0x40, 0x00);  // 65536
  timers.advance(ticks_ns(100));
  out(0x43, 0x00);  // latch channel 0
  timers.advance(ticks_ns(1000));
  EXPECT_EQ(read_lohi(0x40), 65536 - 100);
  EXPECT_EQ(read_lohi(0x40), 65536 - 1100);  // live again
}

TEST_F(Pit8254Test, ReadBackStatusAndCount) {
  out(0x43, 0xb6);  // channel 2, lo/hi, mode 3
  out(0x42, 0x10);
  out(0x42, 0x00);
  out(0x61, 0x01);
  out(0x43, 0xc8);  // read-back: count and status of channel 2
  const uint8_t status = in(0x42);
  EXPECT_EQ(status & 0x3f, 0x36);  // lo/hi, mode 3, binary
  EXPECT_EQ(status & 0x40, 0);     // count loaded
  EXPECT_EQ(status & 0x80, 0x80);  // OUT high in the first half-period
  EXPECT_EQ(read_lohi(0x42), 0x10);
}

TEST_F(Pit8254Test, Mode3SquareWaveOnPortB) {
  out(0x61, 0x01);
  out(0x43, 0xb6);
  out(0x42, 100);
  out(0x42, 0);
  EXPECT_EQ(in(0x61) & 0x20, 0x20);
  timers.advance(ticks_ns(60));
  EXPECT_EQ(in(0x61) & 0x20, 0);
  timers.advance(ticks_ns(45));
  EXPECT_EQ(in(0x61) & 0x20, 0x20);
}

TEST_F(Pit8254Test, LsbOnlyAndMsbOnlyAccess) {
  out(0x43, 0x10);  // channel 0, LSB only, mode 0
  out(0x40, 50);
  timers.advance(ticks_ns(10));
  EXPECT_EQ(in(0x40), 40);
  out(0x43, 0x20);  // MSB only
  out(0x40, 0x02);  // 512
  timers.advance(ticks_ns(256));
  EXPECT_EQ(in(0x40), 0x01);
}

TEST_F(Pit8254Test, PortBKeepsWritableBits) {
  out(0x61, 0xff);
  EXPECT_EQ(in(0x61) & 0xcf, 0x0f);
}

TEST(Pit8254RealTime, IrqFollowsHostClock) {
  TimerQueue timers;
  IrqRecorder irq;
  Pit8254 pit(timers, bus::IrqLine(&irq, 0));
  auto out = [&](uint16_t p, uint8_t v) { pit.write(p, std::span(&v, 1)); };
  out(0x43, 0x34);
  out(0x40, 0x9c);
  out(0x40, 0x2e);  // 10 ms
  std::this_thread::sleep_for(std::chrono::milliseconds(105));
  out(0x43, 0x30);
  // Loaded CI hosts wake late; coalescing may drop some, but most edges arrive.
  EXPECT_GE(irq.rises, 6);
  EXPECT_LE(irq.rises, 11);
}

}  // namespace
}  // namespace vessel::devices
