#include "bus/bus.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace vessel::bus {
namespace {

class Recorder : public IoDevice {
 public:
  std::string_view name() const override { return "recorder"; }
  void read(uint64_t offset, std::span<uint8_t> data) override { store_le(data, 0x1100 + offset); }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    writes.push_back({offset, load_le(data)});
  }
  std::vector<std::pair<uint64_t, uint64_t>> writes;
};

TEST(Bus, DispatchesWithOffsets) {
  Bus bus("pio");
  auto dev = std::make_shared<Recorder>();
  ASSERT_TRUE(bus.add(0x3f8, 8, dev));
  uint8_t b[2] = {0x34, 0x12};
  EXPECT_TRUE(bus.write(0x3fa, b));
  ASSERT_EQ(dev->writes.size(), 1u);
  EXPECT_EQ(dev->writes[0].first, 2u);
  EXPECT_EQ(dev->writes[0].second, 0x1234u);
  uint8_t r[1];
  EXPECT_TRUE(bus.read(0x3fd, r));
  EXPECT_EQ(r[0], 0x05);
}

TEST(Bus, RejectsOverlaps) {
  Bus bus("mmio");
  auto dev = std::make_shared<Recorder>();
  ASSERT_TRUE(bus.add(0x1000, 0x100, dev));
  EXPECT_FALSE(bus.add(0x10ff, 1, dev));
  EXPECT_FALSE(bus.add(0xf00, 0x101, dev));
  EXPECT_FALSE(bus.add(0x1000, 0x100, dev));
  EXPECT_FALSE(bus.add(0x0, 0, dev));
  EXPECT_FALSE(bus.add(~uint64_t{0}, 2, dev));  // wraps
  EXPECT_TRUE(bus.add(0x1100, 0x100, dev));
  EXPECT_TRUE(bus.add(0xf00, 0x100, dev));
}

TEST(Bus, UnclaimedAccessesReadAllOnesAndAreCounted) {
  Bus bus("pio");
  auto dev = std::make_shared<Recorder>();
  ASSERT_TRUE(bus.add(0x60, 1, dev));
  uint8_t r[4] = {};
  EXPECT_FALSE(bus.read(0x80, r));
  EXPECT_EQ(load_le(r), 0xffffffffu);
  EXPECT_FALSE(bus.read(0x60, r));  // 4 bytes at a 1-byte device: partly outside
  EXPECT_FALSE(bus.write(0x61, r));
  EXPECT_EQ(bus.unhandled_accesses(), 3u);
  EXPECT_TRUE(dev->writes.empty());
}

TEST(Bus, RemoveFreesTheRange) {
  Bus bus("mmio");
  auto dev = std::make_shared<Recorder>();
  ASSERT_TRUE(bus.add(0x1000, 0x10, dev));
  ASSERT_TRUE(bus.remove(0x1000));
  EXPECT_FALSE(bus.remove(0x1000));
  uint8_t r[1];
  EXPECT_FALSE(bus.read(0x1000, r));
}

}  // namespace
}  // namespace vessel::bus
