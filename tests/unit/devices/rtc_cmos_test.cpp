#include "devices/legacy/rtc_cmos.hpp"

#include <gtest/gtest.h>

#include "manual_timers.hpp"

namespace vessel::devices {
namespace {

struct LevelRecorder : bus::IrqSink {
  void set_irq_level(uint32_t gsi, bool l) override {
    EXPECT_EQ(gsi, 8u);
    if (l && !level) ++rises;
    level = l;
  }
  bool level = false;
  int rises = 0;
};

constexpr time_t kLeapDayEvening = 1709251198;  // 2024-02-29 23:59:58 UTC, a Thursday
constexpr int64_t kSec = 1'000'000'000;

class RtcCmosTest : public ::testing::Test {
 protected:
  uint8_t get(uint8_t index) {
    rtc.write(0x70, std::span(&index, 1));
    uint8_t v = 0;
    rtc.read(0x71, std::span(&v, 1));
    return v;
  }
  void set(uint8_t index, uint8_t v) {
    rtc.write(0x70, std::span(&index, 1));
    rtc.write(0x71, std::span(&v, 1));
  }

  test::ManualTimers timers;
  LevelRecorder irq;
  RtcCmos rtc{timers, bus::IrqLine(&irq, 8), kLeapDayEvening};
};

TEST_F(RtcCmosTest, BcdTimeAndDate) {
  EXPECT_EQ(get(0x00), 0x58);
  EXPECT_EQ(get(0x02), 0x59);
  EXPECT_EQ(get(0x04), 0x23);
  EXPECT_EQ(get(0x06), 0x05);  // Thursday
  EXPECT_EQ(get(0x07), 0x29);
  EXPECT_EQ(get(0x08), 0x02);
  EXPECT_EQ(get(0x09), 0x24);
  EXPECT_EQ(get(0x32), 0x20);
  EXPECT_EQ(get(0x0d), 0x80);
  timers.advance(3 * kSec);  // rolls into March 1st, following the clock
  EXPECT_EQ(get(0x00), 0x01);
  EXPECT_EQ(get(0x04), 0x00);
  EXPECT_EQ(get(0x07), 0x01);
  EXPECT_EQ(get(0x08), 0x03);
}

TEST_F(RtcCmosTest, BinaryAnd12HourFormats) {
  set(0x0b, 0x04);  // binary, 12-hour
  EXPECT_EQ(get(0x00), 58);
  EXPECT_EQ(get(0x04), 0x80 | 11);  // 11 PM
  set(0x0b, 0x00);                  // BCD, 12-hour
  EXPECT_EQ(get(0x04), 0x91);
}

TEST_F(RtcCmosTest, GuestSetsTime) {
  set(0x0b, 0x82);  // SET while writing, as hwclock does
  set(0x09, 0x30);
  set(0x08, 0x07);
  set(0x07, 0x04);
  set(0x04, 0x12);
  set(0x02, 0x34);
  set(0x00, 0x56);
  set(0x0b, 0x02);
  EXPECT_EQ(get(0x09), 0x30);
  EXPECT_EQ(get(0x08), 0x07);
  EXPECT_EQ(get(0x07), 0x04);
  EXPECT_EQ(get(0x04), 0x12);
  EXPECT_EQ(get(0x02), 0x34);
  EXPECT_EQ(get(0x00), 0x56);
  timers.advance(2 * kSec);
  EXPECT_EQ(get(0x00), 0x58);
}

TEST_F(RtcCmosTest, UpdateInProgressBeforeEachSecond) {
  EXPECT_EQ(get(0x0a) & 0x80, 0);
  timers.advance(kSec - 100'000);
  EXPECT_EQ(get(0x0a) & 0x80, 0x80);
  EXPECT_EQ(get(0x0a) & 0x7f, 0x26);
  timers.advance(200'000);
  EXPECT_EQ(get(0x0a) & 0x80, 0);
}

TEST_F(RtcCmosTest, UpdateEndedInterrupt) {
  set(0x0b, 0x12);  // UIE, 24-hour, BCD
  timers.advance(kSec / 2);
  EXPECT_FALSE(irq.level);
  timers.advance(kSec / 2);
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(get(0x0c) & 0xb0, 0x90);  // IRQF | UF (PF runs at 1024 Hz without PIE)
  EXPECT_FALSE(irq.level);
  EXPECT_EQ(get(0x0c) & 0xb0, 0x00);
  timers.advance(kSec);
  EXPECT_EQ(irq.rises, 2);
}

TEST_F(RtcCmosTest, PeriodicInterrupt) {
  set(0x0a, 0x26);  // 1024 Hz
  set(0x0b, 0x42);  // PIE
  timers.advance(976'000);
  EXPECT_FALSE(irq.level);
  timers.advance(1'000);
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(get(0x0c) & 0xc0, 0xc0);
  int count = 0;
  for (int i = 0; i < 100; ++i) {
    timers.advance(976'563);
    if (get(0x0c) & 0x40) ++count;
  }
  EXPECT_GE(count, 99);
}

TEST_F(RtcCmosTest, AlarmInterrupt) {
  set(0x01, 0x00);  // 00:00:00
  set(0x03, 0x00);
  set(0x05, 0x00);
  set(0x0b, 0x22);       // AIE
  timers.advance(kSec);  // 23:59:59: update but no alarm
  EXPECT_FALSE(irq.level);
  EXPECT_EQ(get(0x0c) & 0xb0, 0x10);
  timers.advance(kSec);
  EXPECT_TRUE(irq.level);
  EXPECT_EQ(get(0x0c) & 0xa0, 0xa0);
}

TEST_F(RtcCmosTest, FlagsWithoutEnablesDoNotInterrupt) {
  timers.advance(2 * kSec);
  // Update, alarm (00:00:00 matches the zeroed alarm bytes) and periodic flags, no IRQF.
  EXPECT_EQ(get(0x0c), 0x70);
  EXPECT_EQ(irq.rises, 0);
}

TEST_F(RtcCmosTest, NmiMaskAndRam) {
  uint8_t v = 0x80 | 0x20;
  rtc.write(0x70, std::span(&v, 1));
  EXPECT_TRUE(rtc.nmi_masked());
  set(0x20, 0xab);  // also clears the NMI mask
  EXPECT_FALSE(rtc.nmi_masked());
  EXPECT_EQ(get(0x20), 0xab);
  rtc.set_memory_size(uint64_t{3} << 30, uint64_t{1} << 30);
  EXPECT_EQ(get(0x34) | get(0x35) << 8, ((uint64_t{3} << 30) - (16u << 20)) >> 16);
  EXPECT_EQ(get(0x5b) | get(0x5c) << 8 | get(0x5d) << 16, 1 << 14);
  EXPECT_EQ(get(0x30) | get(0x31) << 8, 63 * 1024);
  EXPECT_EQ(get(0x15) | get(0x16) << 8, 640);
}

}  // namespace
}  // namespace vessel::devices
