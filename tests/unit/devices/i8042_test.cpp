#include "devices/legacy/i8042.hpp"

#include <gtest/gtest.h>

#include "fake_vm_control.hpp"

namespace vessel::devices {
namespace {

struct EdgeCounter : bus::IrqSink {
  void set_irq_level(uint32_t, bool l) override {
    if (l && !level) ++rises;
    level = l;
  }
  bool level = false;
  int rises = 0;
};

class I8042Test : public ::testing::Test {
 protected:
  void cmd(uint8_t v) { kbc.write(0x64, std::span(&v, 1)); }
  void data(uint8_t v) { kbc.write(0x60, std::span(&v, 1)); }
  uint8_t status() {
    uint8_t v;
    kbc.read(0x64, std::span(&v, 1));
    return v;
  }
  uint8_t read() {
    uint8_t v;
    kbc.read(0x60, std::span(&v, 1));
    return v;
  }

  test::FakeVmControl control;
  EdgeCounter irq;
  I8042 kbc{control, bus::IrqLine(&irq, 1)};
};

TEST_F(I8042Test, SelfTestsAndCommandByte) {
  EXPECT_EQ(status() & 0x01, 0);
  cmd(0xaa);
  EXPECT_EQ(status() & 0x05, 0x05);  // OBF and SYS
  EXPECT_EQ(read(), 0x55);
  EXPECT_EQ(status() & 0x01, 0);
  cmd(0xab);
  EXPECT_EQ(read(), 0x00);
  cmd(0x20);
  const uint8_t ctr = read();
  EXPECT_EQ(ctr & 0x20, 0x20);  // AUX disabled
  cmd(0x60);
  data(0x47);
  cmd(0x20);
  EXPECT_EQ(read(), 0x47);
  cmd(0xa8);
  cmd(0x20);
  EXPECT_EQ(read() & 0x20, 0);
}

TEST_F(I8042Test, NoAuxPortWithoutTimeouts) {
  cmd(0xd3);
  data(0x5a);
  const uint8_t st = status();
  EXPECT_EQ(st & 0x01, 0x01);
  EXPECT_EQ(st & 0x20, 0);  // not AUX data: Linux's loopback check fails fast
  EXPECT_EQ(read(), 0x5a);
  cmd(0xa9);
  EXPECT_EQ(read(), 0x01);
}

TEST_F(I8042Test, KeyboardIdentifyAndReset) {
  data(0xf2);
  EXPECT_EQ(read(), 0xfa);
  EXPECT_EQ(read(), 0xab);
  EXPECT_EQ(read(), 0x83);
  data(0xff);
  EXPECT_EQ(read(), 0xfa);
  EXPECT_EQ(read(), 0xaa);
  data(0xed);
  EXPECT_EQ(read(), 0xfa);
  data(0x07);
  EXPECT_EQ(read(), 0xfa);
  data(0xf0);
  data(0x00);
  EXPECT_EQ(read(), 0xfa);
  EXPECT_EQ(read(), 0xfa);
  EXPECT_EQ(read(), 0x02);
}

TEST_F(I8042Test, InterruptPerByteWhenEnabled) {
  cmd(0x60);
  data(0x45);  // keyboard interrupt enabled
  data(0xf2);  // three bytes queued
  EXPECT_TRUE(irq.level);
  status();
  status();
  EXPECT_EQ(irq.rises, 1);  // polling the status does not re-raise
  read();
  read();
  read();
  EXPECT_EQ(irq.rises, 3);
  EXPECT_FALSE(irq.level);
  cmd(0x60);
  data(0x44);  // disabled
  data(0xf4);
  EXPECT_FALSE(irq.level);
  EXPECT_EQ(read(), 0xfa);
}

TEST_F(I8042Test, ResetPulse) {
  cmd(0xfe);
  ASSERT_EQ(control.resets.size(), 1u);
  cmd(0xff);  // pulses nothing
  EXPECT_EQ(control.resets.size(), 1u);
  cmd(0xd1);
  data(0x02);  // output port with reset bit low
  EXPECT_EQ(control.resets.size(), 2u);
}

TEST_F(I8042Test, OutputQueueIsBounded) {
  for (int i = 0; i < 1000; ++i) data(0xee);
  int n = 0;
  while (status() & 1) read(), ++n;
  EXPECT_LE(n, 16);
  EXPECT_GT(n, 0);
}

}  // namespace
}  // namespace vessel::devices
