#include "memory/guest_memory.hpp"

#include <gtest/gtest.h>

namespace vessel::memory {
namespace {

TEST(GuestMemory, SmallRamIsOneRegionAtZero) {
  auto mem = GuestMemory::create(16 << 20);
  ASSERT_TRUE(mem);
  ASSERT_EQ(mem->regions().size(), 1u);
  EXPECT_EQ(mem->regions()[0].gpa, 0u);
  EXPECT_EQ(mem->regions()[0].size, 16u << 20);
}

TEST(GuestMemory, LargeRamSkipsTheHoleBelow4G) {
  auto mem = GuestMemory::create(kMmioHoleStart + (64 << 20));
  ASSERT_TRUE(mem);
  ASSERT_EQ(mem->regions().size(), 2u);
  EXPECT_EQ(mem->regions()[0].end(), kMmioHoleStart);
  EXPECT_EQ(mem->regions()[1].gpa, kMmioHoleEnd);
  EXPECT_EQ(mem->regions()[1].size, 64u << 20);
  EXPECT_EQ(mem->host_address(kMmioHoleStart), nullptr);
  EXPECT_NE(mem->host_address(kMmioHoleEnd), nullptr);
}

TEST(GuestMemory, RejectsBadSizes) {
  EXPECT_FALSE(GuestMemory::create(0));
  EXPECT_FALSE(GuestMemory::create(4097));
}

TEST(GuestMemory, ReadWriteRoundTrip) {
  auto mem = GuestMemory::create(1 << 20);
  ASSERT_TRUE(mem);
  ASSERT_TRUE(mem->write_obj<uint32_t>(0x1000, 0xdeadbeef));
  auto v = mem->read_obj<uint32_t>(0x1000);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 0xdeadbeefu);
}

TEST(GuestMemory, OutOfRangeAccessesAreErrors) {
  auto mem = GuestMemory::create(1 << 20);
  ASSERT_TRUE(mem);
  EXPECT_FALSE(mem->read_obj<uint32_t>((1 << 20) - 2));  // straddles the end
  EXPECT_FALSE(mem->read_obj<uint8_t>(1 << 20));
  EXPECT_FALSE(mem->span(0x10, ~uint64_t{0}));  // length would wrap
  EXPECT_FALSE(mem->span(~uint64_t{0}, 2));
  auto whole = mem->span(0, 1 << 20);
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->size(), 1u << 20);
}

TEST(GuestMemory, SpanCannotCrossTheHole) {
  auto mem = GuestMemory::create(kMmioHoleStart + (1 << 20));
  ASSERT_TRUE(mem);
  EXPECT_FALSE(mem->span(kMmioHoleStart - 8, 16));
}

}  // namespace
}  // namespace vessel::memory
