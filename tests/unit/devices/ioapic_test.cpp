#include "devices/legacy/ioapic.hpp"

#include <gtest/gtest.h>

#include "devices/legacy/lapic.hpp"
#include "manual_timers.hpp"

namespace vessel::devices {
namespace {

class IoApicTest : public ::testing::Test {
 protected:
  IoApicTest() {
    bus.attach(&apic);
    bus.set_eoi_listener(&ioapic);
    uint8_t b[4];
    bus::store_le(b, 0x1ff);
    apic.write(0xf0, b);  // software-enable the LAPIC
  }
  uint32_t rd(uint8_t index) {
    uint8_t sel = index, b[4];
    ioapic.write(0x00, std::span(&sel, 1));
    ioapic.read(0x10, b);
    return static_cast<uint32_t>(bus::load_le(b));
  }
  void wr(uint8_t index, uint32_t v) {
    uint8_t sel = index, b[4];
    ioapic.write(0x00, std::span(&sel, 1));
    bus::store_le(b, v);
    ioapic.write(0x10, b);
  }
  void eoi() {
    uint8_t b[4] = {};
    apic.write(0xb0, b);
  }

  test::ManualTimers timers;
  ApicBus bus;
  LocalApic apic{0, bus, timers, true};
  IoApic ioapic{bus};
};

TEST_F(IoApicTest, IdentificationRegisters) {
  EXPECT_EQ(rd(0x01), 0x170011u);
  wr(0x00, 0x0a000000);
  EXPECT_EQ(rd(0x00), 0x0a000000u);
  wr(0x01, 0);
  EXPECT_EQ(rd(0x01), 0x170011u);
  EXPECT_EQ(rd(0x10), 0x10000u);     // masked at reset
  EXPECT_EQ(rd(0x10 + 2 * 24), 0u);  // past the last entry
}

TEST_F(IoApicTest, EdgeDeliveryAndMasking) {
  wr(0x10 + 4, 0x30);  // pin 2: vector 0x30, edge, fixed, physical
  wr(0x11 + 4, 0);     // to APIC 0
  ioapic.set_irq_level(2, true);
  ioapic.set_irq_level(2, false);
  EXPECT_EQ(apic.acknowledge(), 0x30);
  eoi();
  wr(0x10 + 4, 0x10030);  // masked: the edge is lost
  ioapic.set_irq_level(2, true);
  ioapic.set_irq_level(2, false);
  wr(0x10 + 4, 0x30);
  EXPECT_FALSE(apic.interrupt_pending());
}

TEST_F(IoApicTest, LevelRemoteIrrAndEoi) {
  wr(0x10 + 2 * 10, 0x8041);  // pin 10: level, vector 0x41
  ioapic.set_irq_level(10, true);
  EXPECT_NE(rd(0x10 + 2 * 10) & (1u << 14), 0u);  // remote IRR
  EXPECT_EQ(apic.acknowledge(), 0x41);
  eoi();  // line still asserted: delivered again
  EXPECT_EQ(apic.acknowledge(), 0x41);
  ioapic.set_irq_level(10, false);
  eoi();
  EXPECT_EQ(rd(0x10 + 2 * 10) & (1u << 14), 0u);
  EXPECT_FALSE(apic.interrupt_pending());
}

TEST_F(IoApicTest, UnmaskingAssertedLevelLineDelivers) {
  wr(0x10 + 2 * 5, 0x18051);
  ioapic.set_irq_level(5, true);
  EXPECT_FALSE(apic.interrupt_pending());
  wr(0x10 + 2 * 5, 0x8051);
  EXPECT_EQ(apic.acknowledge(), 0x51);
}

TEST_F(IoApicTest, DestinationSelectsApic) {
  wr(0x10, 0x33);
  wr(0x11, 0x05000000);  // physical APIC 5: nobody
  ioapic.set_irq_level(0, true);
  EXPECT_FALSE(apic.interrupt_pending());
  ioapic.set_irq_level(0, false);
  wr(0x11, 0x01000000);
  wr(0x10, 0x933);  // logical, lowest priority
  uint8_t b[4];
  bus::store_le(b, 0x01000000);
  apic.write(0xd0, b);  // LDR bit 0
  ioapic.set_irq_level(0, true);
  EXPECT_EQ(apic.acknowledge(), 0x33);
}

TEST_F(IoApicTest, IgnoresOutOfRangePins) {
  ioapic.set_irq_level(24, true);
  ioapic.set_irq_level(1000, true);
  EXPECT_FALSE(apic.interrupt_pending());
}

}  // namespace
}  // namespace vessel::devices
