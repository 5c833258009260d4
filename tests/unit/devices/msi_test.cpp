#include "devices/legacy/msi.hpp"

#include <gtest/gtest.h>

namespace vessel::devices {
namespace {

TEST(MsiTest, FixedEdgePhysical) {
  // Destination APIC ID 3 (address bits 19:12), vector 0x41, fixed, edge.
  auto m = msi_to_apic_message(0xFEE0'3000, 0x0041);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->vector, 0x41);
  EXPECT_EQ(m->mode, DeliveryMode::kFixed);
  EXPECT_FALSE(m->logical);
  EXPECT_EQ(m->destination, 3);
  EXPECT_FALSE(m->level_triggered);
  EXPECT_TRUE(m->assert_level);
}

TEST(MsiTest, LogicalLowestPriorityLevel) {
  // Destination mode bit 2, delivery mode 001b, trigger bit 15 with level bit 14 set.
  auto m = msi_to_apic_message(0xFEEF'F004, 0xC000 | (1u << 8) | 0xEF);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->vector, 0xEF);
  EXPECT_EQ(m->mode, DeliveryMode::kLowestPriority);
  EXPECT_TRUE(m->logical);
  EXPECT_EQ(m->destination, 0xFF);
  EXPECT_TRUE(m->level_triggered);
  EXPECT_TRUE(m->assert_level);
}

TEST(MsiTest, LevelDeassertAndNmi) {
  auto deassert = msi_to_apic_message(0xFEE0'0000, 0x8030);
  ASSERT_TRUE(deassert.has_value());
  EXPECT_TRUE(deassert->level_triggered);
  EXPECT_FALSE(deassert->assert_level);
  auto nmi = msi_to_apic_message(0xFEE0'1000, 4u << 8);
  ASSERT_TRUE(nmi.has_value());
  EXPECT_EQ(nmi->mode, DeliveryMode::kNmi);
  EXPECT_EQ(nmi->destination, 1);
}

TEST(MsiTest, RejectsNonInterruptWrites) {
  EXPECT_FALSE(msi_to_apic_message(0xFED0'0000, 0x30).has_value());
  EXPECT_FALSE(msi_to_apic_message(0x1'FEE0'0000, 0x30).has_value());
  EXPECT_FALSE(msi_to_apic_message(0xFEE0'0000, (3u << 8) | 0x30).has_value());
}

}  // namespace
}  // namespace vessel::devices
