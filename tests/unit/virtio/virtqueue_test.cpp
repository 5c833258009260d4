#include "devices/virtio/virtqueue.hpp"

#include <gtest/gtest.h>

#include "ring_builder.hpp"

namespace vessel::devices::virtio {
namespace {

constexpr uint64_t kAll = feature_bit(kFeatureVersion1) | feature_bit(kFeatureIndirectDesc) |
                          feature_bit(kFeatureEventIdx);
constexpr uint64_t kData = 0x10000;
constexpr uint64_t kRam = 1 << 20;

class VirtqueueTest : public ::testing::Test {
 protected:
  void enable(uint64_t features = kAll) { ASSERT_TRUE(vq.enable(mem, ring.config(), features)); }
  // Pops one chain that must be refused: returned at once with length 0, queue still usable.
  void expect_refused() {
    const uint16_t before = ring.used_idx();
    EXPECT_EQ(vq.pop(chain), Virtqueue::Pop::kEmpty);
    EXPECT_EQ(ring.used_idx(), before + 1);
    EXPECT_EQ(ring.used_len(before % ring.size), 0u);
    EXPECT_FALSE(vq.broken());
    EXPECT_EQ(vq.failed_chains(), 1u);
  }

  memory::GuestMemory mem = *memory::GuestMemory::create(kRam);
  test::RingBuilder ring{mem, 8};
  Virtqueue vq{"test", 16};
  DescriptorChain chain;
};

TEST_F(VirtqueueTest, ReadableThenWritableChain) {
  enable();
  ASSERT_TRUE(mem.write_obj<uint32_t>(kData, 0xdeadbeef));
  ring.desc(0, kData, 4, kDescFlagNext, 3);
  ring.desc(3, kData + 0x100, 10, kDescFlagWrite | kDescFlagNext, 5);
  ring.desc(5, kData + 0x200, 6, kDescFlagWrite);
  ring.publish(0);
  ASSERT_EQ(vq.pop(chain), Virtqueue::Pop::kChain);
  EXPECT_EQ(chain.head, 0);
  ASSERT_EQ(chain.readable.size(), 1u);
  EXPECT_EQ(chain.readable_bytes, 4u);
  EXPECT_EQ(chain.writable_bytes, 16u);
  uint32_t v;
  std::memcpy(&v, chain.readable[0].data(), 4);
  EXPECT_EQ(v, 0xdeadbeefu);
  EXPECT_EQ(ring.avail_event(), 1);  // EVENT_IDX: asks for the next one
  vq.push_used(0, 16);
  EXPECT_EQ(ring.used_idx(), 1);
  EXPECT_EQ(ring.used_id(0), 0u);
  EXPECT_EQ(ring.used_len(0), 16u);
  EXPECT_EQ(vq.pop(chain), Virtqueue::Pop::kEmpty);
}

TEST_F(VirtqueueTest, BadQueueConfigurations) {
  for (uint16_t size : {0, 3, 12, 32}) {
    QueueConfig c = ring.config();
    c.size = size;
    EXPECT_FALSE(vq.enable(mem, c, kAll)) << size;
  }
  QueueConfig c = ring.config();
  c.desc = kRam - 16;  // table runs past RAM
  EXPECT_FALSE(vq.enable(mem, c, kAll));
  c = ring.config();
  c.device = 0x3002;  // misaligned used ring
  EXPECT_FALSE(vq.enable(mem, c, kAll));
  EXPECT_FALSE(vq.ready());
}

TEST_F(VirtqueueTest, LoopIsRefused) {
  enable();
  ring.desc(0, kData, 4, kDescFlagNext, 1);
  ring.desc(1, kData, 4, kDescFlagNext, 0);
  ring.publish(0);
  expect_refused();
}

TEST_F(VirtqueueTest, NextOutsideTableIsRefused) {
  enable();
  ring.desc(0, kData, 4, kDescFlagNext, 8);
  ring.publish(0);
  expect_refused();
}

TEST_F(VirtqueueTest, BufferOutsideRamIsRefused) {
  enable();
  ring.desc(0, kRam - 2, 4, 0);
  ring.publish(0);
  expect_refused();
}

TEST_F(VirtqueueTest, HugeLengthIsRefused) {
  enable();
  ring.desc(0, kData, 0xffff'ffff, kDescFlagWrite);
  ring.publish(0);
  expect_refused();
}

TEST_F(VirtqueueTest, ReadableAfterWritableIsRefused) {
  enable();
  ring.desc(0, kData, 4, kDescFlagWrite | kDescFlagNext, 1);
  ring.desc(1, kData, 4, 0);
  ring.publish(0);
  expect_refused();
}

TEST_F(VirtqueueTest, IndirectTable) {
  enable();
  constexpr uint64_t kTable = 0x8000;
  ring.desc(0, kData, 16, 0, 1, kTable);
  ring.desc(1, kData + 16, 1, kDescFlagWrite, 0, kTable);
  ring.desc(0, kData, 16, kDescFlagNext, 1, kTable);
  ring.desc(2, kTable, 32, kDescFlagIndirect);
  ring.publish(2);
  ASSERT_EQ(vq.pop(chain), Virtqueue::Pop::kChain);
  EXPECT_EQ(chain.head, 2);
  EXPECT_EQ(chain.readable_bytes, 16u);
  EXPECT_EQ(chain.writable_bytes, 1u);
}

TEST_F(VirtqueueTest, IndirectWithoutFeatureIsRefused) {
  enable(feature_bit(kFeatureVersion1));
  ring.desc(0, 0x8000, 16, kDescFlagIndirect);
  ring.publish(0);
  expect_refused();
}

TEST_F(VirtqueueTest, NestedIndirectIsRefused) {
  enable();
  ring.desc(0, 0x9000, 16, kDescFlagIndirect, 0, 0x8000);
  ring.desc(0, 0x8000, 16, kDescFlagIndirect);
  ring.publish(0);
  expect_refused();
}

TEST_F(VirtqueueTest, IndirectOfBadSizeIsRefused) {
  for (uint32_t len : {0u, 8u, 24u}) {
    Virtqueue q{"t", 16};
    ASSERT_TRUE(q.enable(mem, ring.config(), kAll));
    ring.set_avail_idx(0);
    ring.desc(0, 0x8000, len, kDescFlagIndirect);
    ring.publish(0);
    EXPECT_EQ(q.pop(chain), Virtqueue::Pop::kEmpty) << len;
    EXPECT_EQ(q.failed_chains(), 1u) << len;
  }
}

TEST_F(VirtqueueTest, IndirectWithNextIsRefused) {
  enable();
  ring.desc(0, 0x8000, 16, kDescFlagIndirect | kDescFlagNext, 1);
  ring.desc(1, kData, 4, 0);
  ring.publish(0);
  expect_refused();
}

TEST_F(VirtqueueTest, LoopInsideIndirectTableIsRefused) {
  enable();
  ring.desc(0, kData, 4, kDescFlagNext, 1, 0x8000);
  ring.desc(1, kData, 4, kDescFlagNext, 0, 0x8000);
  ring.desc(0, 0x8000, 32, kDescFlagIndirect);
  ring.publish(0);
  expect_refused();
}

TEST_F(VirtqueueTest, SameHeadTwiceBreaksTheQueue) {
  enable();
  ring.desc(0, kData, 4, 0);
  ring.publish(0);
  ring.publish(0);
  ASSERT_EQ(vq.pop(chain), Virtqueue::Pop::kChain);
  EXPECT_EQ(vq.pop(chain), Virtqueue::Pop::kBroken);
  EXPECT_TRUE(vq.broken());
}

TEST_F(VirtqueueTest, AvailIndexJumpBreaksTheQueue) {
  enable();
  ring.set_avail_idx(9);  // queue size is 8
  EXPECT_EQ(vq.pop(chain), Virtqueue::Pop::kBroken);
}

TEST_F(VirtqueueTest, HeadOutsideTableBreaksTheQueue) {
  enable();
  ring.publish(8);
  EXPECT_EQ(vq.pop(chain), Virtqueue::Pop::kBroken);
}

TEST_F(VirtqueueTest, PushOfHeadNotInFlightIsIgnored) {
  enable();
  vq.push_used(3, 1);
  vq.push_used(200, 1);
  EXPECT_EQ(ring.used_idx(), 0);
}

TEST_F(VirtqueueTest, EventIdxSuppressesNotifications) {
  enable();
  for (uint16_t i = 0; i < 3; ++i) {
    ring.desc(i, kData, 4, 0);
    ring.publish(i);
  }
  ring.set_used_event(1);  // interrupt once used.idx passes 1, i.e. reaches 2
  ASSERT_EQ(vq.pop(chain), Virtqueue::Pop::kChain);
  vq.push_used(chain.head, 0);
  EXPECT_FALSE(vq.needs_notification());  // used.idx 1
  ASSERT_EQ(vq.pop(chain), Virtqueue::Pop::kChain);
  vq.push_used(chain.head, 0);
  EXPECT_TRUE(vq.needs_notification());   // used.idx 2
  EXPECT_FALSE(vq.needs_notification());  // nothing new
}

TEST_F(VirtqueueTest, NoInterruptFlagWithoutEventIdx) {
  enable(feature_bit(kFeatureVersion1));
  ring.desc(0, kData, 4, 0);
  ring.publish(0);
  ring.set_avail_flags(kAvailFlagNoInterrupt);
  ASSERT_EQ(vq.pop(chain), Virtqueue::Pop::kChain);
  vq.push_used(0, 0);
  EXPECT_FALSE(vq.needs_notification());
  ring.desc(1, kData, 4, 0);
  ring.publish(1);
  ring.set_avail_flags(0);
  ASSERT_EQ(vq.pop(chain), Virtqueue::Pop::kChain);
  vq.push_used(1, 0);
  EXPECT_TRUE(vq.needs_notification());
}

}  // namespace
}  // namespace vessel::devices::virtio
