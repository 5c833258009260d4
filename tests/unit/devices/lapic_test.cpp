#include "devices/legacy/lapic.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "devices/legacy/ioapic.hpp"
#include "devices/legacy/pic8259.hpp"
#include "manual_timers.hpp"

namespace vessel::devices {
namespace {

struct CountingWaker : bus::InterruptWaker {
  void wake() override { ++wakes; }
  int wakes = 0;
};

struct EoiRecorder : EoiListener {
  void end_of_interrupt(uint8_t vector) override { vectors.push_back(vector); }
  std::vector<uint8_t> vectors;
};

uint32_t rd(LocalApic& a, uint32_t reg) {
  uint8_t b[4];
  a.read(reg, b);
  return static_cast<uint32_t>(bus::load_le(b));
}
void wr(LocalApic& a, uint32_t reg, uint32_t v) {
  uint8_t b[4];
  bus::store_le(b, v);
  a.write(reg, b);
}

class LocalApicTest : public ::testing::Test {
 protected:
  LocalApicTest() {
    bus.attach(&apic);
    bus.set_eoi_listener(&eoi);
    apic.set_waker(&waker);
  }
  void enable() { wr(apic, 0xf0, 0x1ff); }
  void fixed(uint8_t vector, bool level = false) {
    apic.accept(ApicMessage{.vector = vector, .level_triggered = level});
  }

  test::ManualTimers timers;
  ApicBus bus;
  EoiRecorder eoi;
  CountingWaker waker;
  LocalApic apic{0, bus, timers, true};
};

TEST_F(LocalApicTest, ResetState) {
  EXPECT_EQ(rd(apic, 0x20), 0u);
  EXPECT_EQ(rd(apic, 0x30), 0x50014u);
  EXPECT_EQ(rd(apic, 0xf0), 0xffu);
  EXPECT_EQ(rd(apic, 0xe0), 0xffffffffu);
  for (uint32_t reg = 0x320; reg <= 0x370; reg += 0x10) EXPECT_EQ(rd(apic, reg), 0x10000u);
  EXPECT_EQ(apic.apic_base_msr(), 0xfee00000u | 0x900u);
}

TEST_F(LocalApicTest, SoftwareDisabledHoldsInterrupts) {
  fixed(0x40);
  EXPECT_FALSE(apic.interrupt_pending());
  enable();
  EXPECT_TRUE(apic.interrupt_pending());
}

TEST_F(LocalApicTest, AcknowledgeAndEoi) {
  enable();
  fixed(0x41);
  fixed(0x62);
  EXPECT_GE(waker.wakes, 2);
  EXPECT_EQ(rd(apic, 0x200 + 0x20), (1u << 1));  // IRR word 2: vector 0x41
  EXPECT_EQ(apic.acknowledge(), 0x62);           // highest first
  EXPECT_EQ(rd(apic, 0xa0), 0x60u);              // PPR follows the in-service class
  EXPECT_EQ(rd(apic, 0x100 + 0x30), (1u << 2));  // ISR word 3: vector 0x62
  EXPECT_FALSE(apic.interrupt_pending());        // 0x41 is below the in-service class
  wr(apic, 0xb0, 0);
  EXPECT_TRUE(eoi.vectors.empty());  // edge: no broadcast
  EXPECT_EQ(apic.acknowledge(), 0x41);
}

TEST_F(LocalApicTest, TprBlocksLowerClasses) {
  enable();
  wr(apic, 0x80, 0x50);
  fixed(0x55);
  EXPECT_FALSE(apic.interrupt_pending());
  EXPECT_EQ(apic.acknowledge(), std::nullopt);
  fixed(0x61);
  EXPECT_EQ(apic.acknowledge(), 0x61);
  wr(apic, 0x80, 0x00);
  wr(apic, 0xb0, 0);
  EXPECT_EQ(apic.acknowledge(), 0x55);
}

TEST_F(LocalApicTest, LevelEoiBroadcasts) {
  enable();
  fixed(0x70, /*level=*/true);
  EXPECT_EQ(rd(apic, 0x180 + 0x30), 1u << 16);  // TMR
  EXPECT_EQ(apic.acknowledge(), 0x70);
  wr(apic, 0xb0, 0);
  ASSERT_EQ(eoi.vectors.size(), 1u);
  EXPECT_EQ(eoi.vectors[0], 0x70);
}

TEST_F(LocalApicTest, IllegalVectorSetsEsr) {
  enable();
  fixed(5);
  EXPECT_FALSE(apic.interrupt_pending());
  wr(apic, 0x280, 0);
  EXPECT_EQ(rd(apic, 0x280), 1u << 6);
  wr(apic, 0x280, 0);
  EXPECT_EQ(rd(apic, 0x280), 0u);
}

TEST_F(LocalApicTest, SelfIpiAndNmi) {
  enable();
  wr(apic, 0x300, 0x40000 | 0x45);  // shorthand self, fixed 0x45
  EXPECT_EQ(apic.acknowledge(), 0x45);
  wr(apic, 0x310, 0);
  wr(apic, 0x300, 0x400);  // NMI to APIC 0
  EXPECT_TRUE(apic.take_nmi());
  EXPECT_FALSE(apic.take_nmi());
}

TEST_F(LocalApicTest, InitAndSipiReachTheHandler) {
  LocalApic ap{1, bus, timers, false};
  bus.attach(&ap);
  std::vector<std::pair<LocalApic::StartupKind, uint8_t>> events;
  ap.set_startup_handler([&](LocalApic::StartupKind k, uint8_t v) { events.push_back({k, v}); });
  enable();
  wr(apic, 0x310, 1u << 24);
  wr(apic, 0x300, 0xc500);  // INIT assert, level
  wr(apic, 0x300, 0x8500);  // INIT de-assert: ignored
  wr(apic, 0x300, 0x0609);  // SIPI vector 9
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].first, LocalApic::StartupKind::kInit);
  EXPECT_EQ(events[1].first, LocalApic::StartupKind::kStartup);
  EXPECT_EQ(events[1].second, 9);
  EXPECT_EQ(rd(apic, 0x300) & (1u << 12), 0u);  // delivery status idle
}

TEST_F(LocalApicTest, LogicalFlatAndClusterMatching) {
  wr(apic, 0xd0, 0x02000000);
  EXPECT_TRUE(apic.matches(0x02, true));
  EXPECT_TRUE(apic.matches(0x03, true));
  EXPECT_FALSE(apic.matches(0x01, true));
  wr(apic, 0xe0, 0x0fffffff);  // cluster model
  wr(apic, 0xd0, 0x21000000);  // cluster 2, member bit 0
  EXPECT_TRUE(apic.matches(0x21, true));
  EXPECT_FALSE(apic.matches(0x11, true));
  EXPECT_TRUE(apic.matches(0xf1, true));
  EXPECT_TRUE(apic.matches(0x00, false));
  EXPECT_TRUE(apic.matches(0xff, false));
  EXPECT_FALSE(apic.matches(0x01, false));
}

TEST_F(LocalApicTest, OneShotTimer) {
  enable();
  wr(apic, 0x3e0, 0x3);   // divide by 16
  wr(apic, 0x320, 0xef);  // one-shot, vector 0xef
  wr(apic, 0x380, 1000);  // 16 us
  timers.advance(8000);
  EXPECT_EQ(rd(apic, 0x390), 500u);
  EXPECT_FALSE(apic.interrupt_pending());
  timers.advance(8000);
  EXPECT_EQ(rd(apic, 0x390), 0u);
  EXPECT_EQ(apic.acknowledge(), 0xef);
  wr(apic, 0xb0, 0);
  timers.advance(1'000'000);
  EXPECT_FALSE(apic.interrupt_pending());
}

TEST_F(LocalApicTest, PeriodicTimer) {
  enable();
  wr(apic, 0x3e0, 0xb);  // divide by 1
  wr(apic, 0x320, 0x20000 | 0xec);
  wr(apic, 0x380, 1'000'000);  // 1 ms
  int fired = 0;
  for (int ms = 0; ms < 5; ++ms) {
    timers.advance(1'000'000);
    while (auto v = apic.acknowledge()) {
      EXPECT_EQ(*v, 0xec);
      ++fired;
      wr(apic, 0xb0, 0);
    }
  }
  EXPECT_EQ(fired, 5);
  EXPECT_EQ(rd(apic, 0x390), 1'000'000u);
  wr(apic, 0x380, 0);  // stop
  timers.advance(10'000'000);
  EXPECT_FALSE(apic.interrupt_pending());
}

TEST_F(LocalApicTest, MaskedTimerCountsWithoutInterrupt) {
  enable();
  wr(apic, 0x3e0, 0xb);
  wr(apic, 0x320, 0x10000 | 0xec);
  wr(apic, 0x380, 100);
  timers.advance(1000);
  EXPECT_EQ(rd(apic, 0x390), 0u);
  EXPECT_FALSE(apic.interrupt_pending());
}

TEST_F(LocalApicTest, VirtualWireThroughLint0) {
  Pic8259 pic;
  apic.set_extint_source(&pic);
  pic.set_output_waker(&apic.extint_waker());
  auto out = [&](uint16_t p, uint8_t v) { pic.write(p, std::span(&v, 1)); };
  for (uint8_t v : {0x11, 0x30, 0x04, 0x01}) out(v == 0x11 ? 0x20 : 0x21, v);
  out(0x21, 0x00);
  pic.set_irq_level(1, true);
  EXPECT_FALSE(apic.interrupt_pending());  // LINT0 masked at reset
  enable();
  wr(apic, 0x350, 0x700);  // ExtINT, unmasked
  EXPECT_TRUE(apic.interrupt_pending());
  EXPECT_EQ(apic.acknowledge(), 0x31);
  EXPECT_EQ(pic.isr(0), 0x02);
  // Globally disabled APIC: the PIC reaches the CPU directly.
  out(0x20, 0x20);  // EOI at the PIC
  apic.set_apic_base_msr(0xfee00000);
  pic.set_irq_level(3, true);
  EXPECT_TRUE(apic.interrupt_pending());
}

TEST_F(LocalApicTest, SoftwareDisableMasksLvts) {
  enable();
  wr(apic, 0x350, 0x700);
  wr(apic, 0xf0, 0xff);
  EXPECT_EQ(rd(apic, 0x350), 0x10700u);
  wr(apic, 0x350, 0x700);
  EXPECT_EQ(rd(apic, 0x350), 0x10700u);
}

TEST_F(LocalApicTest, WindowDispatchesToBoundApic) {
  LocalApicWindow window;
  uint8_t b[4];
  window.read(0x30, b);
  EXPECT_EQ(bus::load_le(b), 0u);  // unbound thread
  LocalApic::bind_to_current_thread(&apic);
  window.read(0x30, b);
  EXPECT_EQ(bus::load_le(b), 0x50014u);
  LocalApic::bind_to_current_thread(nullptr);
}

}  // namespace
}  // namespace vessel::devices
