#include "devices/legacy/pic8259.hpp"

#include <gtest/gtest.h>

namespace vessel::devices {
namespace {

struct CountingWaker : bus::InterruptWaker {
  void wake() override { ++wakes; }
  int wakes = 0;
};

void out(Pic8259& pic, uint16_t port, uint8_t v) {
  pic.write(port, std::span(&v, 1));
}
uint8_t in(Pic8259& pic, uint16_t port) {
  uint8_t v = 0;
  pic.read(port, std::span(&v, 1));
  return v;
}

// The sequence Linux's init_8259A() issues: ICW1 edge + ICW4, bases 0x30/0x38, cascade on IR2.
void init_linux(Pic8259& pic, bool auto_eoi = false) {
  out(pic, 0x21, 0xff);
  out(pic, 0xa1, 0xff);
  out(pic, 0x20, 0x11);
  out(pic, 0x21, 0x30);
  out(pic, 0x21, 0x04);
  out(pic, 0x21, auto_eoi ? 0x03 : 0x01);
  out(pic, 0xa0, 0x11);
  out(pic, 0xa1, 0x38);
  out(pic, 0xa1, 0x02);
  out(pic, 0xa1, 0x01);
  out(pic, 0x21, 0x00);
  out(pic, 0xa1, 0x00);
}

TEST(Pic8259, InitSequenceAndMask) {
  Pic8259 pic;
  init_linux(pic);
  out(pic, 0x21, 0xfb);
  EXPECT_EQ(in(pic, 0x21), 0xfb);
  EXPECT_EQ(pic.imr(0), 0xfb);
  out(pic, 0x20, 0x11);  // ICW1 clears the mask
  EXPECT_EQ(pic.imr(0), 0);
}

TEST(Pic8259, EdgeInterruptDeliveredAndEoi) {
  Pic8259 pic;
  CountingWaker waker;
  pic.set_output_waker(&waker);
  init_linux(pic);
  EXPECT_FALSE(pic.interrupt_pending());
  pic.set_irq_level(0, true);
  pic.set_irq_level(0, false);
  EXPECT_TRUE(pic.interrupt_pending());
  EXPECT_GE(waker.wakes, 1);
  EXPECT_EQ(pic.irr(0), 0x01);
  EXPECT_EQ(pic.acknowledge(), 0x30);
  EXPECT_EQ(pic.isr(0), 0x01);
  EXPECT_EQ(pic.irr(0), 0x00);
  EXPECT_FALSE(pic.interrupt_pending());
  // OCW3 read ISR / IRR.
  out(pic, 0x20, 0x0b);
  EXPECT_EQ(in(pic, 0x20), 0x01);
  out(pic, 0x20, 0x0a);
  EXPECT_EQ(in(pic, 0x20), 0x00);
  out(pic, 0x20, 0x20);  // non-specific EOI
  EXPECT_EQ(pic.isr(0), 0);
}

TEST(Pic8259, PriorityAndNesting) {
  Pic8259 pic;
  init_linux(pic);
  pic.set_irq_level(4, true);
  EXPECT_EQ(pic.acknowledge(), 0x34);
  pic.set_irq_level(6, true);  // lower priority than the one in service
  EXPECT_FALSE(pic.interrupt_pending());
  pic.set_irq_level(1, true);  // higher priority nests
  EXPECT_TRUE(pic.interrupt_pending());
  EXPECT_EQ(pic.acknowledge(), 0x31);
  out(pic, 0x20, 0x20);  // ends IRQ 1 (the highest in service)
  EXPECT_EQ(pic.isr(0), 0x10);
  out(pic, 0x20, 0x64);  // specific EOI for IRQ 4
  EXPECT_EQ(pic.isr(0), 0);
  EXPECT_EQ(pic.acknowledge(), 0x36);
}

TEST(Pic8259, MaskedInterruptWaits) {
  Pic8259 pic;
  init_linux(pic);
  out(pic, 0x21, 0x08);
  pic.set_irq_level(3, true);
  EXPECT_FALSE(pic.interrupt_pending());
  EXPECT_EQ(pic.irr(0), 0x08);
  out(pic, 0x21, 0x00);
  EXPECT_EQ(pic.acknowledge(), 0x33);
}

TEST(Pic8259, CascadeThroughSlave) {
  Pic8259 pic;
  init_linux(pic);
  pic.set_irq_level(8 + 4, true);  // IRQ 12
  EXPECT_TRUE(pic.interrupt_pending());
  EXPECT_EQ(pic.acknowledge(), 0x3c);
  EXPECT_EQ(pic.isr(0), 0x04);
  EXPECT_EQ(pic.isr(1), 0x10);
  out(pic, 0xa0, 0x20);
  out(pic, 0x20, 0x20);
  EXPECT_EQ(pic.isr(0), 0);
  EXPECT_EQ(pic.isr(1), 0);
}

TEST(Pic8259, SpuriousWhenNothingPending) {
  Pic8259 pic;
  init_linux(pic);
  EXPECT_EQ(pic.acknowledge(), 0x37);
  EXPECT_EQ(pic.isr(0), 0);
}

TEST(Pic8259, LevelTriggeredViaElcr) {
  Pic8259 pic;
  init_linux(pic);
  out(pic, 0x4d1, 0xff);
  EXPECT_EQ(in(pic, 0x4d1), 0xde);  // IRQ 8 and 13 are edge-only
  out(pic, 0x4d0, 0xff);
  EXPECT_EQ(in(pic, 0x4d0), 0xf8);
  pic.set_irq_level(9, true);
  EXPECT_EQ(pic.acknowledge(), 0x39);
  out(pic, 0xa0, 0x20);
  out(pic, 0x20, 0x20);
  // Still high: requests again.
  EXPECT_TRUE(pic.interrupt_pending());
  pic.set_irq_level(9, false);
  EXPECT_FALSE(pic.interrupt_pending());
  EXPECT_EQ(pic.irr(1), 0);
}

TEST(Pic8259, EdgeNeedsNewRisingEdge) {
  Pic8259 pic;
  init_linux(pic);
  pic.set_irq_level(3, true);
  EXPECT_EQ(pic.acknowledge(), 0x33);
  out(pic, 0x20, 0x20);
  pic.set_irq_level(3, true);  // still high: no new edge
  EXPECT_FALSE(pic.interrupt_pending());
  pic.set_irq_level(3, false);
  pic.set_irq_level(3, true);
  EXPECT_TRUE(pic.interrupt_pending());
}

TEST(Pic8259, AutoEoi) {
  Pic8259 pic;
  init_linux(pic, /*auto_eoi=*/true);
  pic.set_irq_level(5, true);
  EXPECT_EQ(pic.acknowledge(), 0x35);
  EXPECT_EQ(pic.isr(0), 0);
}

TEST(Pic8259, PollCommand) {
  Pic8259 pic;
  init_linux(pic);
  out(pic, 0x20, 0x0c);
  EXPECT_EQ(in(pic, 0x20), 0x00);  // nothing pending
  pic.set_irq_level(6, true);
  out(pic, 0x20, 0x0c);
  EXPECT_EQ(in(pic, 0x20), 0x86);
  EXPECT_EQ(pic.isr(0), 0x40);
}

TEST(Pic8259, RotateOnEoiChangesPriority) {
  Pic8259 pic;
  init_linux(pic);
  pic.set_irq_level(1, true);
  EXPECT_EQ(pic.acknowledge(), 0x31);
  out(pic, 0x20, 0xa0);  // rotate on non-specific EOI: IRQ 1 becomes lowest
  pic.set_irq_level(1, false);
  pic.set_irq_level(1, true);
  pic.set_irq_level(3, true);
  EXPECT_EQ(pic.acknowledge(), 0x33);  // 3 now outranks 1
}

TEST(Pic8259, SecondAcknowledgeIsSpurious) {
  Pic8259 pic;
  init_linux(pic);
  pic.set_irq_level(10, true);
  EXPECT_EQ(pic.acknowledge(), 0x3a);
  EXPECT_FALSE(pic.interrupt_pending());
  EXPECT_EQ(pic.acknowledge(), 0x37);  // IR7 without an ISR bit
  EXPECT_EQ(pic.isr(0), 0x04);
}

TEST(Pic8259, IgnoresOutOfRangeAndCascadeInput) {
  Pic8259 pic;
  init_linux(pic);
  pic.set_irq_level(2, true);
  pic.set_irq_level(99, true);
  EXPECT_FALSE(pic.interrupt_pending());
}

}  // namespace
}  // namespace vessel::devices
