// The virtio-console device: transmit and receive through real rings in guest memory, hostile
// chains, input back-pressure, and host input reaching the guest through the MMIO transport.
#include "devices/virtio/console/virtio_console.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "bus/bus.hpp"
#include "devices/virtio/mmio_transport.hpp"
#include "ring_builder.hpp"

namespace vessel::devices::virtio {
namespace {

constexpr uint64_t kFeatures = feature_bit(kFeatureVersion1) | feature_bit(kFeatureEventIdx);
constexpr uint64_t kData = 0x10000;
constexpr uint64_t kRam = 1 << 20;

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Each queue in its own guest memory, so one RingBuilder layout serves both.
class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(rx.enable(rx_mem, rx_ring.config(), kFeatures));
    ASSERT_TRUE(tx.enable(tx_mem, tx_ring.config(), kFeatures));
    // As the machine wires it: host input makes the core serve the receive queue.
    console.set_wake([this](uint16_t q) {
      ++wakes;
      console.process_queue(q, q == VirtioConsole::kReceiveQueue ? rx : tx);
    });
  }
  void put(const memory::GuestMemory& mem, uint64_t addr, std::string_view s) {
    ASSERT_TRUE(mem.write(addr, bytes_of(s)));
  }
  std::string get(const memory::GuestMemory& mem, uint64_t addr, size_t n) {
    std::string s(n, '\0');
    EXPECT_TRUE(mem.read(addr, std::span(reinterpret_cast<uint8_t*>(s.data()), n)));
    return s;
  }

  std::string output;
  VirtioConsole console{[this](std::span<const uint8_t> b) { output.append(b.begin(), b.end()); }};
  memory::GuestMemory rx_mem = *memory::GuestMemory::create(kRam);
  memory::GuestMemory tx_mem = *memory::GuestMemory::create(kRam);
  test::RingBuilder rx_ring{rx_mem, 8};
  test::RingBuilder tx_ring{tx_mem, 8};
  Virtqueue rx{"rx", VirtioConsole::kQueueSize};
  Virtqueue tx{"tx", VirtioConsole::kQueueSize};
  int wakes = 0;
};

TEST_F(ConsoleTest, Identity) {
  EXPECT_EQ(console.device_type(), 3);
  EXPECT_EQ(console.queue_count(), 2);
  EXPECT_EQ(console.device_features(), 0u);  // no MULTIPORT: port 0 only, no control queues
}

TEST_F(ConsoleTest, TransmitWritesChainsInOrder) {
  put(tx_mem, kData, "hel");
  put(tx_mem, kData + 0x100, "lo ");
  put(tx_mem, kData + 0x200, "world");
  tx_ring.desc(0, kData, 3, kDescFlagNext, 1);
  tx_ring.desc(1, kData + 0x100, 3, 0);
  tx_ring.desc(2, kData + 0x200, 5, 0);
  tx_ring.publish(0);
  tx_ring.publish(2);
  console.process_queue(VirtioConsole::kTransmitQueue, tx);
  EXPECT_EQ(output, "hello world");
  EXPECT_EQ(tx_ring.used_idx(), 2);
  EXPECT_EQ(tx_ring.used_len(0), 0u);  // the device writes nothing into transmit buffers
  EXPECT_EQ(tx_ring.used_id(1), 2u);
}

TEST_F(ConsoleTest, TransmitIgnoresWritableBuffers) {
  put(tx_mem, kData, "ok");
  put(tx_mem, kData + 0x100, "untouched");
  tx_ring.desc(0, kData, 2, kDescFlagNext, 1);
  tx_ring.desc(1, kData + 0x100, 9, kDescFlagWrite);
  tx_ring.publish(0);
  console.process_queue(VirtioConsole::kTransmitQueue, tx);
  EXPECT_EQ(output, "ok");
  EXPECT_EQ(tx_ring.used_len(0), 0u);
  EXPECT_EQ(get(tx_mem, kData + 0x100, 9), "untouched");
}

TEST_F(ConsoleTest, HostileTransmitChainsAreRefusedAndTheQueueGoesOn) {
  put(tx_mem, kData, "good");
  tx_ring.desc(0, kData, 4, kDescFlagNext, 1);  // 0 -> 1 -> 0: a loop
  tx_ring.desc(1, kData, 4, kDescFlagNext, 0);
  tx_ring.desc(2, kRam - 2, 4, 0);         // past the end of guest RAM
  tx_ring.desc(3, kData, 0xffff'ffff, 0);  // 4 GiB
  tx_ring.desc(4, kData, 4, 0);
  for (uint16_t head : {0, 2, 3, 4}) tx_ring.publish(head);
  console.process_queue(VirtioConsole::kTransmitQueue, tx);
  EXPECT_EQ(output, "good");  // only the valid chain reached the host
  EXPECT_EQ(tx_ring.used_idx(), 4);
  EXPECT_FALSE(tx.broken());
  EXPECT_EQ(tx.failed_chains(), 3u);
}

TEST_F(ConsoleTest, TransmitIsSynchronousSoFloodsAreNotBuffered) {
  // 8 chains of 64 KiB: every byte is in the sink when process_queue returns, and the device
  // keeps no copy (a flooding guest waits for the host instead of filling our memory).
  std::string block(64 * 1024, 'x');
  for (uint16_t i = 0; i < 8; ++i) {
    block[0] = static_cast<char>('a' + i);
    put(tx_mem, kData + i * block.size(), block);
    tx_ring.desc(i, kData + i * block.size(), static_cast<uint32_t>(block.size()), 0);
    tx_ring.publish(i);
  }
  console.process_queue(VirtioConsole::kTransmitQueue, tx);
  ASSERT_EQ(output.size(), 8 * block.size());
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(output[i * block.size()], static_cast<char>('a' + i));
  EXPECT_EQ(tx_ring.used_idx(), 8);
}

TEST_F(ConsoleTest, InputWaitsForReceiveBuffers) {
  EXPECT_EQ(console.receive(bytes_of("abc")), 3u);
  EXPECT_EQ(wakes, 1);
  EXPECT_EQ(rx_ring.used_idx(), 0);  // no buffer posted yet: kept
  EXPECT_EQ(console.pending_input(), 3u);
  rx_ring.desc(0, kData, 16, kDescFlagWrite);
  rx_ring.publish(0);
  console.process_queue(VirtioConsole::kReceiveQueue, rx);  // the driver's notification
  EXPECT_EQ(rx_ring.used_idx(), 1);
  EXPECT_EQ(rx_ring.used_len(0), 3u);
  EXPECT_EQ(get(rx_mem, kData, 3), "abc");
  EXPECT_EQ(console.pending_input(), 0u);
}

TEST_F(ConsoleTest, PostedBuffersWaitForInput) {
  rx_ring.desc(0, kData, 16, kDescFlagWrite);
  rx_ring.publish(0);
  console.process_queue(VirtioConsole::kReceiveQueue, rx);
  EXPECT_EQ(rx_ring.used_idx(), 0);  // nothing to say: the buffer stays with the device
  EXPECT_EQ(console.receive(bytes_of("ls\n")), 3u);
  EXPECT_EQ(rx_ring.used_idx(), 1);
  EXPECT_EQ(get(rx_mem, kData, 3), "ls\n");
}

TEST_F(ConsoleTest, InputIsBoundedAndBackPressured) {
  const std::string big(3 * VirtioConsole::kInputBuffer, 'q');
  EXPECT_EQ(console.receive(bytes_of(big)), VirtioConsole::kInputBuffer);
  EXPECT_EQ(console.receive(bytes_of("more")), 0u);  // full: the caller keeps the rest
  EXPECT_EQ(console.pending_input(), VirtioConsole::kInputBuffer);
  // Small buffers split the input across chains, in order.
  for (uint16_t i = 0; i < 8; ++i) {
    rx_ring.desc(i, kData + i * 0x1000, 1000, kDescFlagWrite);
    rx_ring.publish(i);
  }
  console.process_queue(VirtioConsole::kReceiveQueue, rx);
  EXPECT_EQ(rx_ring.used_idx(), 5);  // 4096 bytes = 4 x 1000 + 96
  EXPECT_EQ(rx_ring.used_len(4), 96u);
  EXPECT_EQ(console.pending_input(), 0u);
  EXPECT_EQ(console.receive(bytes_of("more")), 4u);
  EXPECT_EQ(rx_ring.used_idx(), 6);
  EXPECT_EQ(get(rx_mem, kData + 5 * 0x1000, 4), "more");
}

TEST_F(ConsoleTest, ReceiveChainWithoutRoomIsReturnedEmpty) {
  put(rx_mem, kData, "RO");
  rx_ring.desc(0, kData, 2, 0);  // device-readable only: nowhere to put input
  rx_ring.desc(1, kData + 0x100, 8, kDescFlagWrite);
  rx_ring.publish(0);
  rx_ring.publish(1);
  EXPECT_EQ(console.receive(bytes_of("hi")), 2u);
  EXPECT_EQ(rx_ring.used_idx(), 2);
  EXPECT_EQ(rx_ring.used_len(0), 0u);
  EXPECT_EQ(get(rx_mem, kData, 2), "RO");
  EXPECT_EQ(rx_ring.used_len(1), 2u);
  EXPECT_EQ(get(rx_mem, kData + 0x100, 2), "hi");
}

TEST_F(ConsoleTest, BrokenReceiveQueueKeepsTheInput) {
  rx_ring.desc(0, kData, 16, kDescFlagWrite);
  rx_ring.set_avail_idx(100);  // avail.idx jumps by more than the queue size
  EXPECT_EQ(console.receive(bytes_of("x")), 1u);
  EXPECT_TRUE(rx.broken());
  EXPECT_EQ(console.pending_input(), 1u);
}

// Through the transport as the machine wires it: input wakes the core, which serves queue 0
// and interrupts the driver.
struct Levels : bus::IrqSink {
  void set_irq_level(uint32_t gsi, bool level) override {
    if (level && !last[gsi]) ++edges[gsi];
    last[gsi] = level;
  }
  std::map<uint32_t, bool> last;
  std::map<uint32_t, int> edges;
};

// Input taken but not yet delivered survives a snapshot; more than the buffer is refused.
TEST_F(ConsoleTest, SaveAndLoadKeepPendingInput) {
  EXPECT_EQ(console.receive(bytes_of("typed ahead")), 11u);
  bus::StateWriter out;
  ASSERT_TRUE(console.save_state(out));
  VirtioConsole copy{[](std::span<const uint8_t>) {}};
  bus::StateReader in(out.data());
  ASSERT_TRUE(copy.load_state(in));
  ASSERT_TRUE(in.finish());
  EXPECT_EQ(copy.pending_input(), 11u);
  rx_ring.desc(0, kData, 64, kDescFlagWrite);
  rx_ring.publish(0);
  copy.process_queue(VirtioConsole::kReceiveQueue, rx);
  EXPECT_EQ(get(rx_mem, kData, 11), "typed ahead");

  bus::StateWriter big;
  big(std::vector<uint8_t>(VirtioConsole::kInputBuffer + 1, 'x'));
  bus::StateReader too_much(big.data());
  EXPECT_FALSE(copy.load_state(too_much));
}

TEST(ConsoleMmioTest, HostInputReachesTheDriver) {
  memory::GuestMemory mem = *memory::GuestMemory::create(kRam);
  Levels irq;
  std::string out;
  auto console = std::make_shared<VirtioConsole>(
      [&out](std::span<const uint8_t> b) { out.append(b.begin(), b.end()); });
  auto dev = std::make_shared<VirtioMmio>(console, mem, bus::IrqLine(&irq, 5));
  console->set_wake([weak = std::weak_ptr<VirtioMmio>(dev)](uint16_t q) {
    if (auto t = weak.lock()) t->core().process(q);
  });
  auto wr = [&](uint64_t off, uint32_t v) {
    uint8_t b[4];
    bus::store_le(b, v);
    dev->write(off, b);
  };
  auto rd = [&](uint64_t off) {
    uint8_t b[4];
    dev->read(off, b);
    return static_cast<uint32_t>(bus::load_le(b));
  };
  EXPECT_EQ(rd(0x008), 3u);  // device ID: console
  // Input before the driver is up is kept, not lost.
  EXPECT_EQ(console->receive(bytes_of("early ")), 6u);

  test::RingBuilder ring{mem, 8};
  wr(0x70, kStatusAcknowledge | kStatusDriver);
  wr(0x24, 1);
  wr(0x20, 1);  // VERSION_1
  wr(0x70, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  wr(0x30, VirtioConsole::kReceiveQueue);
  wr(0x38, ring.size);
  wr(0x80, static_cast<uint32_t>(test::RingBuilder::kDesc));
  wr(0x90, static_cast<uint32_t>(test::RingBuilder::kAvail));
  wr(0xa0, static_cast<uint32_t>(test::RingBuilder::kUsed));
  wr(0x44, 1);
  wr(0x70, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  ring.desc(0, kData, 64, kDescFlagWrite);
  ring.desc(1, kData + 0x100, 64, kDescFlagWrite);
  ring.publish(0);
  ring.publish(1);
  wr(0x50, VirtioConsole::kReceiveQueue);  // the driver posts buffers: the early input goes
  EXPECT_EQ(ring.used_idx(), 1);
  EXPECT_TRUE(irq.last[5]);
  EXPECT_EQ(console->receive(bytes_of("typed")), 5u);  // a second interrupt while still high
  EXPECT_EQ(ring.used_idx(), 2);
  EXPECT_EQ(irq.edges[5], 2);  // a fresh edge, so an edge-triggered pin sees it too
  std::string got(11, '\0');
  ASSERT_TRUE(mem.read(kData, std::span(reinterpret_cast<uint8_t*>(got.data()), 6)));
  ASSERT_TRUE(mem.read(kData + 0x100, std::span(reinterpret_cast<uint8_t*>(got.data() + 6), 5)));
  EXPECT_EQ(got, "early typed");
  EXPECT_EQ(rd(0x60), kInterruptQueue);
  wr(0x64, kInterruptQueue);
  EXPECT_FALSE(irq.last[5]);
  wr(0x50, 7);  // a notification for a queue that does not exist: ignored
  EXPECT_EQ(out, "");
}

}  // namespace
}  // namespace vessel::devices::virtio
