// virtio-net through the transport-neutral core, as a driver uses it: RX and TX through a fake
// backend, hostile chains, frames larger than the buffers, the bounded RX list, reset.
#include <gtest/gtest.h>

#include <cstring>
#include <mutex>
#include <vector>

#include "devices/virtio/net/net_frame.hpp"
#include "devices/virtio/net/virtio_net.hpp"
#include "devices/virtio/virtio_core.hpp"
#include "ring_builder.hpp"

namespace vessel::devices::virtio {
namespace {

struct FakeBackend : backends::net::NetBackend {
  std::string_view name() const override { return "fake"; }
  Result<void> start(Receiver r) override {
    receiver = std::move(r);
    return {};
  }
  void send(std::span<const uint8_t> frame) override {
    sent.emplace_back(frame.begin(), frame.end());
  }
  void stop() override { ++stops; }
  Receiver receiver;
  std::vector<std::vector<uint8_t>> sent;
  int stops = 0;
};

struct Interrupts : InterruptTarget {
  void raise(uint16_t, uint8_t) override { ++raised; }
  void lower() override {}
  int raised = 0;
};

constexpr uint64_t kRxBase = 0, kTxBase = 0x10000;  // RingBuilder offsets for the two queues
constexpr uint64_t kBuffers = 0x40000;              // frames and headers from here on

std::vector<uint8_t> make_frame(size_t size, uint8_t seed) {
  std::vector<uint8_t> f(size);
  for (size_t i = 0; i < size; ++i) f[i] = static_cast<uint8_t>(seed + i * 3);
  return f;
}

class NetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = std::make_unique<FakeBackend>();
    backend = b.get();
    net = std::make_shared<VirtioNet>(std::move(b), MacAddress{0x52, 0x54, 0, 0x12, 0x34, 0x56});
    core = std::make_unique<VirtioCore>(net, mem);
    core->set_interrupt_target(&irq);
    bring_up();
  }

  void bring_up() {
    core->set_status(kStatusAcknowledge | kStatusDriver);
    core->set_driver_features(0, static_cast<uint32_t>(net->device_features()));
    core->set_driver_features(1, 1);  // VERSION_1
    core->set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    for (uint16_t q = 0; q < 2; ++q) {
      const QueueConfig c = (q == 0 ? rx : tx).config();
      core->set_queue_field(q, QueueField::kSize, c.size);
      core->set_queue_field(q, QueueField::kDesc, c.desc);
      core->set_queue_field(q, QueueField::kDriver, c.driver);
      core->set_queue_field(q, QueueField::kDevice, c.device);
      core->set_queue_enabled(q, true);
    }
    core->set_status(kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
    ASSERT_TRUE(core->status() & kStatusDriverOk);
  }

  // A TX request: header (12 bytes, `hdr0`/`hdr1` as flags and gso_type) then the frame, in
  // two descriptors starting at descriptor `d`.
  void post_tx(uint16_t d, const std::vector<uint8_t>& frame, uint8_t flags = 0, uint8_t gso = 0) {
    const uint64_t hdr = kBuffers + 0x8000 * d, data = hdr + 0x100;
    uint8_t h[kNetHeaderSize] = {flags, gso};
    ASSERT_TRUE(mem.write(hdr, h));
    ASSERT_TRUE(mem.write(data, frame));
    tx.desc(d, hdr, kNetHeaderSize, kDescFlagNext, static_cast<uint16_t>(d + 1));
    tx.desc(static_cast<uint16_t>(d + 1), data, static_cast<uint32_t>(frame.size()), 0);
    tx.publish(d);
  }
  // An RX buffer of `len` writable bytes in descriptor d.
  uint64_t post_rx(uint16_t d, uint32_t len) {
    const uint64_t addr = kBuffers + 0x100000 + 0x1000 * uint64_t{d};
    rx.desc(d, addr, len, kDescFlagWrite);
    rx.publish(d);
    return addr;
  }
  std::vector<uint8_t> read(uint64_t addr, size_t n) {
    std::vector<uint8_t> out(n);
    EXPECT_TRUE(mem.read(addr, out));
    return out;
  }

  memory::GuestMemory mem = *memory::GuestMemory::create(4 << 20);
  Interrupts irq;
  test::RingBuilder rx{mem, 8, kRxBase};
  test::RingBuilder tx{mem, 8, kTxBase};
  FakeBackend* backend = nullptr;
  std::shared_ptr<VirtioNet> net;
  std::unique_ptr<VirtioCore> core;
};

TEST_F(NetTest, ConfigSpaceHoldsMacAndLinkUp) {
  uint8_t config[10] = {};
  core->read_config(0, config);
  EXPECT_EQ(std::vector<uint8_t>(config, config + 6),
            (std::vector<uint8_t>{0x52, 0x54, 0, 0x12, 0x34, 0x56}));
  EXPECT_EQ(config[6] | config[7] << 8, kNetStatusLinkUp);
  EXPECT_EQ(core->device_features(0) & (1u << kNetFeatureMac), 1u << kNetFeatureMac);
}

TEST_F(NetTest, TransmittedFrameReachesBackend) {
  const auto frame = make_frame(60, 1);
  post_tx(0, frame);
  core->notify(VirtioNet::kTxQueue);
  ASSERT_EQ(backend->sent.size(), 1u);
  EXPECT_EQ(backend->sent[0], frame);
  EXPECT_EQ(tx.used_idx(), 1);
  EXPECT_EQ(tx.used_len(0), 0u);
  EXPECT_EQ(net->counters().tx_frames, 1u);
  EXPECT_GT(irq.raised, 0);
}

TEST_F(NetTest, MalformedTransmitsAreDroppedAndTheQueueGoesOn) {
  // Header cut short: one 8-byte descriptor.
  tx.desc(7, kBuffers, 8, 0);
  tx.publish(7);
  post_tx(0, make_frame(backends::net::kMaxFrameSize + 1, 2));  // oversize
  post_tx(2, make_frame(60, 3), 0, 1);                          // GSO not offered
  post_tx(4, make_frame(60, 4), kNetHdrFlagNeedsCsum);          // CSUM not offered
  post_tx(6, make_frame(10, 5));                                // shorter than ethernet
  core->notify(VirtioNet::kTxQueue);
  EXPECT_TRUE(backend->sent.empty());
  EXPECT_EQ(tx.used_idx(), 5);
  EXPECT_EQ(net->counters().tx_dropped, 5u);
  EXPECT_FALSE(core->needs_reset());
  // A good frame after all that still goes out.
  tx.desc(0, kBuffers + 0x200000, kNetHeaderSize + 60, 0);
  tx.publish(0);
  core->notify(VirtioNet::kTxQueue);
  EXPECT_EQ(backend->sent.size(), 1u);
}

TEST_F(NetTest, ReceivedFrameFillsTheGuestBuffer) {
  const uint64_t buf = post_rx(0, 1526);
  core->notify(VirtioNet::kRxQueue);
  EXPECT_EQ(rx.used_idx(), 0);  // nothing to deliver yet: the buffer stays available
  const auto frame = make_frame(98, 7);
  net->receive(frame);
  ASSERT_EQ(rx.used_idx(), 1);
  EXPECT_EQ(rx.used_len(0), kNetHeaderSize + 98);
  const auto header = read(buf, kNetHeaderSize);
  EXPECT_EQ(header, (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}));  // num_buffers 1
  EXPECT_EQ(read(buf + kNetHeaderSize, 98), frame);
  EXPECT_EQ(net->counters().rx_frames, 1u);
  EXPECT_GT(irq.raised, 0);
}

TEST_F(NetTest, CountersCountBytesAndPackets) {
  post_tx(0, make_frame(60, 1));
  post_tx(2, make_frame(100, 2));
  core->notify(VirtioNet::kTxQueue);
  post_rx(0, 1526);
  net->receive(make_frame(98, 3));
  const NetCounters c = net->counters();
  EXPECT_EQ(c.tx_frames, 2u);
  EXPECT_EQ(c.tx_bytes, 160u);  // frames only: virtio's header is not on the wire
  EXPECT_EQ(c.rx_frames, 1u);
  EXPECT_EQ(c.rx_bytes, 98u);
  EXPECT_EQ(c.rx_dropped, 0u);
}

// Frames waiting for the guest at a snapshot are delivered by the restored card; a state
// with another MAC or too many frames is refused.
TEST_F(NetTest, SaveAndLoadKeepWaitingFrames) {
  net->receive(make_frame(60, 1));
  net->receive(make_frame(70, 2));
  bus::StateWriter out;
  ASSERT_TRUE(core->save_state(out));

  auto b = std::make_unique<FakeBackend>();
  auto net2 =
      std::make_shared<VirtioNet>(std::move(b), MacAddress{0x52, 0x54, 0, 0x12, 0x34, 0x56});
  VirtioCore core2(net2, mem);
  bus::StateReader in(out.data());
  ASSERT_TRUE(core2.load_state(in));
  ASSERT_TRUE(in.finish());
  EXPECT_EQ(net2->pending_frames(), 2u);
  const uint64_t a = post_rx(0, 1526);
  core2.notify(VirtioNet::kRxQueue);
  ASSERT_EQ(rx.used_idx(), 1);
  EXPECT_EQ(read(a + kNetHeaderSize, 60), make_frame(60, 1));

  auto other = std::make_shared<VirtioNet>(std::make_unique<FakeBackend>(),
                                           MacAddress{0x52, 0x54, 0, 0x12, 0x34, 0x57});
  VirtioCore core3(other, mem);
  bus::StateReader again(out.data());
  EXPECT_FALSE(core3.load_state(again));

  bus::StateWriter bad;
  bad(MacAddress{0x52, 0x54, 0, 0x12, 0x34, 0x56}, uint64_t{VirtioNet::kMaxPendingFrames + 1});
  auto net4 = std::make_shared<VirtioNet>(std::make_unique<FakeBackend>(),
                                          MacAddress{0x52, 0x54, 0, 0x12, 0x34, 0x56});
  bus::StateReader too_many(bad.data());
  EXPECT_FALSE(net4->load_state(too_many));
}

TEST_F(NetTest, FramesWaitForBuffersInOrder) {
  net->receive(make_frame(60, 1));
  net->receive(make_frame(61, 2));
  EXPECT_EQ(net->pending_frames(), 2u);
  const uint64_t a = post_rx(0, 1526), b = post_rx(1, 1526);
  core->notify(VirtioNet::kRxQueue);
  ASSERT_EQ(rx.used_idx(), 2);
  EXPECT_EQ(read(a + kNetHeaderSize, 60), make_frame(60, 1));
  EXPECT_EQ(read(b + kNetHeaderSize, 61), make_frame(61, 2));
  EXPECT_EQ(net->pending_frames(), 0u);
}

TEST_F(NetTest, FrameLargerThanTheBufferIsDroppedWithoutOverflow) {
  const uint64_t buf = post_rx(0, 100);
  const std::vector<uint8_t> canary(64, 0xcc);
  ASSERT_TRUE(mem.write(buf, std::vector<uint8_t>(100, 0xaa)));
  ASSERT_TRUE(mem.write(buf + 100, canary));
  net->receive(make_frame(200, 9));
  ASSERT_EQ(rx.used_idx(), 1);
  EXPECT_EQ(rx.used_len(0), 0u);
  EXPECT_EQ(read(buf, 100), std::vector<uint8_t>(100, 0xaa));  // nothing written at all
  EXPECT_EQ(read(buf + 100, 64), canary);
  EXPECT_EQ(net->counters().rx_too_big, 1u);
  // The next frame that fits uses the next buffer.
  post_rx(1, 1526);
  net->receive(make_frame(60, 1));
  EXPECT_EQ(rx.used_len(1), kNetHeaderSize + 60);
}

TEST_F(NetTest, ReadOnlyRxBufferIsNotWritten) {
  // A driver posting a device-readable buffer on the receive queue.
  const uint64_t addr = kBuffers + 0x300000;
  ASSERT_TRUE(mem.write(addr, std::vector<uint8_t>(1526, 0x11)));
  rx.desc(0, addr, 1526, 0);
  rx.publish(0);
  net->receive(make_frame(60, 1));
  ASSERT_EQ(rx.used_idx(), 1);
  EXPECT_EQ(rx.used_len(0), 0u);
  EXPECT_EQ(read(addr, 1526), std::vector<uint8_t>(1526, 0x11));
}

TEST_F(NetTest, RxBufferOutsideRamFailsThatChainOnly) {
  rx.desc(0, (4 << 20) - 16, 1526, kDescFlagWrite);  // runs past the end of RAM
  rx.publish(0);
  post_rx(1, 1526);
  net->receive(make_frame(60, 1));
  ASSERT_EQ(rx.used_idx(), 2);
  EXPECT_EQ(rx.used_len(0), 0u);  // the virtqueue refused the chain
  EXPECT_EQ(rx.used_len(1), kNetHeaderSize + 60);
}

TEST_F(NetTest, WaitingListIsBounded) {
  for (size_t i = 0; i < VirtioNet::kMaxPendingFrames + 10; ++i) net->receive(make_frame(60, 1));
  EXPECT_EQ(net->pending_frames(), VirtioNet::kMaxPendingFrames);
  EXPECT_EQ(net->counters().rx_dropped, 10u);
}

TEST_F(NetTest, FramesBeforeDriverOkWaitAndResetDropsThem) {
  core->set_status(0);
  net->receive(make_frame(60, 1));
  EXPECT_EQ(rx.used_idx(), 0);
  EXPECT_EQ(net->pending_frames(), 1u);
  core->set_status(0);
  EXPECT_EQ(net->pending_frames(), 0u);
  // Re-initialised from scratch, the device works again.
  rx.set_avail_idx(0);
  (void)mem.write_obj<uint16_t>(rx.kUsed + 2, 0);
  bring_up();
  post_rx(0, 1526);
  net->receive(make_frame(60, 2));
  EXPECT_EQ(rx.used_idx(), 1);
}

TEST_F(NetTest, StartWiresTheBackendToReceive) {
  ASSERT_TRUE(net->start());
  post_rx(0, 1526);
  const auto frame = make_frame(70, 5);
  backend->receiver(frame);
  EXPECT_EQ(rx.used_len(0), kNetHeaderSize + 70);
}

TEST_F(NetTest, ReceiveAfterTheCoreIsGoneIsHarmless) {
  core.reset();  // clears the kick
  net->receive(make_frame(60, 1));
  EXPECT_EQ(net->pending_frames(), 1u);
}

TEST(NetMac, Parses) {
  auto mac = parse_mac("52:54:00:AB:cd:ef");
  ASSERT_TRUE(mac);
  EXPECT_EQ(*mac, (MacAddress{0x52, 0x54, 0, 0xab, 0xcd, 0xef}));
  EXPECT_FALSE(parse_mac("52:54:00:ab:cd"));
  EXPECT_FALSE(parse_mac("52-54-00-ab-cd-ef"));
  EXPECT_FALSE(parse_mac("52:54:00:ab:cd:eg"));
  EXPECT_FALSE(parse_mac("01:00:5e:00:00:01"));  // multicast
}

TEST(NetCountersTest, SumAddsEveryField) {
  NetCounters sum{1, 2, 3, 4, 5, 6, 7};
  sum += NetCounters{10, 20, 30, 40, 50, 60, 70};
  EXPECT_EQ(sum.tx_frames, 11u);
  EXPECT_EQ(sum.tx_bytes, 22u);
  EXPECT_EQ(sum.tx_dropped, 33u);
  EXPECT_EQ(sum.rx_frames, 44u);
  EXPECT_EQ(sum.rx_bytes, 55u);
  EXPECT_EQ(sum.rx_dropped, 66u);
  EXPECT_EQ(sum.rx_too_big, 77u);
}

}  // namespace
}  // namespace vessel::devices::virtio
