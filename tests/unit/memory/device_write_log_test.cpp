#include "memory/device_write_log.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "memory/guest_memory.hpp"

namespace vessel::memory {
namespace {

std::vector<uint64_t> starts_since(const DeviceWriteLog& log, uint64_t& seen, bool& complete) {
  std::vector<uint64_t> out;
  complete = log.read_since(seen, [&](DeviceWriteLog::Range r) { out.push_back(r.gpa); });
  return out;
}

TEST(DeviceWriteLog, ReaderSeesEachRangeOnce) {
  DeviceWriteLog log;
  uint64_t seen = log.seq();
  log.record(0x1000, 16);
  log.record(0x5000, 4096);
  log.record(0x9000, 0);  // empty: not recorded
  bool complete = false;
  EXPECT_EQ(starts_since(log, seen, complete), (std::vector<uint64_t>{0x1000, 0x5000}));
  EXPECT_TRUE(complete);
  EXPECT_EQ(seen, log.seq());
  EXPECT_TRUE(starts_since(log, seen, complete).empty());
}

TEST(DeviceWriteLog, AReaderTooFarBehindIsToldToForgetEverything) {
  DeviceWriteLog log;
  uint64_t seen = 0;
  for (uint64_t i = 0; i <= DeviceWriteLog::kCapacity; ++i) log.record(i * 4096, 1);
  bool complete = true;
  EXPECT_TRUE(starts_since(log, seen, complete).empty());
  EXPECT_FALSE(complete);
  EXPECT_EQ(seen, DeviceWriteLog::kCapacity + 1);
  log.record(0x2000, 1);  // caught up again
  EXPECT_EQ(starts_since(log, seen, complete), (std::vector<uint64_t>{0x2000}));
  EXPECT_TRUE(complete);
}

TEST(DeviceWriteLog, GuestMemoryWritesAndNotedDmaAreLogged) {
  auto mem = GuestMemory::create(1 << 20);
  ASSERT_TRUE(mem);
  uint64_t seen = mem->device_writes().seq();
  const uint8_t bytes[3] = {1, 2, 3};
  ASSERT_TRUE(mem->write(0x3000, bytes));
  mem->note_device_write(0x7000, 8192);
  std::vector<DeviceWriteLog::Range> ranges;
  EXPECT_TRUE(
      mem->device_writes().read_since(seen, [&](DeviceWriteLog::Range r) { ranges.push_back(r); }));
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0].gpa, 0x3000u);
  EXPECT_EQ(ranges[0].len, 3u);
  EXPECT_EQ(ranges[1].gpa, 0x7000u);
  EXPECT_EQ(ranges[1].len, 8192u);
}

}  // namespace
}  // namespace vessel::memory
