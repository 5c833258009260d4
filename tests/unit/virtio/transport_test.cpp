// The core through the virtio-mmio transport (registers as a driver uses them), and the PCI
// transport's capabilities and MSI-X routing.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "bus/bus.hpp"
#include "devices/pci/pci_root.hpp"
#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/pci_transport.hpp"
#include "devices/virtio/rng/virtio_rng.hpp"
#include "ring_builder.hpp"

namespace vessel::devices::virtio {
namespace {

struct Levels : bus::IrqSink {
  void set_irq_level(uint32_t gsi, bool level) override { last[gsi] = level; }
  std::map<uint32_t, bool> last;
};

class MmioTest : public ::testing::Test {
 protected:
  uint32_t rd(uint64_t off) {
    uint8_t b[4];
    dev.read(off, b);
    return static_cast<uint32_t>(bus::load_le(b));
  }
  void wr(uint64_t off, uint32_t v) {
    uint8_t b[4];
    bus::store_le(b, v);
    dev.write(off, b);
  }
  // Driver initialisation (§3.1.1) with queue 0 at the RingBuilder's addresses.
  void bring_up(uint32_t features_hi = 1) {
    wr(0x70, kStatusAcknowledge | kStatusDriver);
    wr(0x24, 1);
    wr(0x20, features_hi);  // VERSION_1
    wr(0x70, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
    wr(0x30, 0);
    wr(0x38, ring.size);
    wr(0x80, static_cast<uint32_t>(test::RingBuilder::kDesc));
    wr(0x90, static_cast<uint32_t>(test::RingBuilder::kAvail));
    wr(0xa0, static_cast<uint32_t>(test::RingBuilder::kUsed));
    wr(0x44, 1);
    wr(0x70, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  }

  memory::GuestMemory mem = *memory::GuestMemory::create(1 << 20);
  Levels irq;
  VirtioMmio dev{std::make_shared<VirtioRng>(), mem, bus::IrqLine(&irq, 5)};
  test::RingBuilder ring{mem, 8};
};

TEST_F(MmioTest, Identification) {
  EXPECT_EQ(rd(0x000), 0x74726976u);
  EXPECT_EQ(rd(0x004), 2u);
  EXPECT_EQ(rd(0x008), 4u);
  EXPECT_EQ(rd(0x034), 256u);  // QueueNumMax of queue 0
  wr(0x030, 1);
  EXPECT_EQ(rd(0x034), 0u);  // no queue 1
  wr(0x014, 1);
  EXPECT_EQ(rd(0x010) & 1, 1u);  // VERSION_1 (bit 32)
}

TEST_F(MmioTest, FeaturesOkNeedsVersion1) {
  wr(0x70, kStatusAcknowledge | kStatusDriver);
  wr(0x24, 1);
  wr(0x20, 0);
  wr(0x70, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk);
  EXPECT_FALSE(rd(0x70) & kStatusFeaturesOk);
  wr(0x70, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  EXPECT_FALSE(rd(0x70) & kStatusDriverOk);
}

TEST_F(MmioTest, UnofferedFeatureIsRefused) {
  wr(0x24, 1);
  wr(0x20, 1 | 2);  // VERSION_1 and ACCESS_PLATFORM, which is not offered
  wr(0x70, kStatusFeaturesOk);
  EXPECT_FALSE(rd(0x70) & kStatusFeaturesOk);
}

TEST_F(MmioTest, EntropyRequestEndToEnd) {
  bring_up();
  EXPECT_EQ(rd(0x70) & kStatusDriverOk, kStatusDriverOk);
  ring.desc(0, 0x10000, 64, kDescFlagWrite);
  ring.publish(0);
  wr(0x50, 0);
  EXPECT_EQ(ring.used_idx(), 1);
  EXPECT_EQ(ring.used_len(0), 64u);
  EXPECT_EQ(rd(0x60), kInterruptQueue);
  EXPECT_TRUE(irq.last[5]);
  wr(0x64, kInterruptQueue);
  EXPECT_FALSE(irq.last[5]);
}

// A snapshot of a live transport loaded into a fresh one: the driver's queue goes on where it
// was (the next request is served into the same used ring), selects and status included.
TEST_F(MmioTest, SaveAndLoadCarryTheQueueOver) {
  bring_up();
  ring.desc(0, 0x10000, 16, kDescFlagWrite);
  ring.publish(0);
  wr(0x50, 0);
  ASSERT_EQ(ring.used_idx(), 1);
  wr(0x30, 0);
  bus::StateWriter out;
  ASSERT_TRUE(dev.save_state(out));

  Levels irq2;
  VirtioMmio copy{std::make_shared<VirtioRng>(), mem, bus::IrqLine(&irq2, 5)};
  bus::StateReader in(out.data());
  ASSERT_TRUE(copy.load_state(in));
  uint8_t b[4];
  copy.read(0x70, b);
  EXPECT_EQ(bus::load_le(b),
            kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk);
  copy.read(0x44, b);
  EXPECT_EQ(bus::load_le(b), 1u);  // queue 0 ready
  ring.desc(1, 0x11000, 32, kDescFlagWrite);
  ring.publish(1);
  bus::store_le(std::span<uint8_t>(b), uint32_t{0});
  copy.write(0x50, b);
  EXPECT_EQ(ring.used_idx(), 2);
  EXPECT_EQ(ring.used_len(1), 32u);
  EXPECT_TRUE(irq2.last[5]);
}

TEST_F(MmioTest, TruncatedStateIsRefused) {
  bring_up();
  bus::StateWriter out;
  ASSERT_TRUE(dev.save_state(out));
  std::vector<uint8_t> cut(out.data().begin(), out.data().end() - 3);
  VirtioMmio copy{std::make_shared<VirtioRng>(), mem, bus::IrqLine(&irq, 5)};
  bus::StateReader in(cut);
  EXPECT_FALSE(copy.load_state(in));
}

TEST_F(MmioTest, QueueConfigAfterDriverOkIsIgnored) {
  bring_up();
  wr(0x38, 4);
  wr(0x80, 0x5000);
  EXPECT_EQ(rd(0x38 - 4), 256u);
  EXPECT_EQ(rd(0x80), test::RingBuilder::kDesc);
}

TEST_F(MmioTest, BadQueueSizeIsIgnored) {
  wr(0x38, 3);
  wr(0x38, 0);
  wr(0x38, 512);
  wr(0x44, 1);  // rings at 0: size still 256, rings inside RAM: fine
  EXPECT_EQ(rd(0x44), 1u);
}

TEST_F(MmioTest, NotifyOfMissingQueueIsIgnored) {
  bring_up();
  wr(0x50, 7);
  wr(0x50, 0xffff'ffff);
  EXPECT_FALSE(rd(0x70) & kStatusNeedsReset);
}

TEST_F(MmioTest, BrokenQueueNeedsReset) {
  bring_up();
  ring.set_avail_idx(100);
  wr(0x50, 0);
  EXPECT_TRUE(rd(0x70) & kStatusNeedsReset);
  EXPECT_EQ(rd(0x60) & kInterruptConfig, kInterruptConfig);
  EXPECT_EQ(rd(0xfc), 1u);  // configuration generation moved
  wr(0x70, 0);              // reset
  EXPECT_EQ(rd(0x70), 0u);
  EXPECT_EQ(rd(0x44), 0u);
  EXPECT_EQ(rd(0x60), 0u);
  EXPECT_FALSE(irq.last[5]);
}

TEST_F(MmioTest, EnableWithRingsOutsideRamNeedsReset) {
  wr(0x80, 0);
  wr(0x84, 1);  // descriptor table at 4 GiB: not RAM
  wr(0x44, 1);
  EXPECT_EQ(rd(0x44), 0u);
  EXPECT_TRUE(rd(0x70) & kStatusNeedsReset);
}

struct Msis {
  std::vector<std::pair<uint64_t, uint32_t>> sent;
};

TEST(VirtioPciTest, CapabilitiesAndMsix) {
  memory::GuestMemory mem = *memory::GuestMemory::create(1 << 20);
  bus::Bus mmio("mmio");
  Levels irq;
  pci::PciRoot root(mmio, &irq);
  auto dev = std::make_shared<VirtioPci>(std::make_shared<VirtioRng>(), mem);
  Msis msis;
  dev->set_msi_signal([&](uint64_t a, uint32_t d) { msis.sent.push_back({a, d}); });
  const unsigned slot = *root.add(dev);
  EXPECT_EQ(slot, 1u);

  auto cfg16 = [&](uint16_t off) {
    uint8_t b[2];
    root.config_read(0, static_cast<uint8_t>(slot), 0, off, b);
    return static_cast<uint16_t>(bus::load_le(b));
  };
  EXPECT_EQ(cfg16(0), 0x1af4);
  EXPECT_EQ(cfg16(2), 0x1044);
  // Walk the capability list: four vendor capabilities (types 1-4) and MSI-X.
  std::set<uint8_t> types;
  bool msix = false;
  for (uint16_t at = cfg16(0x34) & 0xff; at != 0; at = cfg16(at) >> 8) {
    const uint8_t id = cfg16(at) & 0xff;
    if (id == pci::kCapVendor) types.insert(static_cast<uint8_t>(cfg16(at + 2) >> 8));
    msix |= id == pci::kCapMsix;
  }
  EXPECT_EQ(types, (std::set<uint8_t>{1, 2, 3, 4}));
  EXPECT_TRUE(msix);

  const uint64_t bar = dev->bar_address(0);
  auto w = [&](uint64_t off, uint64_t v, size_t n) {
    uint8_t b[8];
    bus::store_le(std::span(b, n), v);
    mmio.write(bar + off, std::span<const uint8_t>(b, n));
  };
  auto r = [&](uint64_t off, size_t n) {
    uint8_t b[8];
    mmio.read(bar + off, std::span(b, n));
    return bus::load_le(std::span<const uint8_t>(b, n));
  };
  EXPECT_EQ(r(0x12, 2), 1u);  // num_queues
  w(0x1a, 1, 2);              // queue 0 -> vector 1
  EXPECT_EQ(r(0x1a, 2), 1u);
  w(0x1a, 9, 2);  // beyond the 2-entry table: NO_VECTOR
  EXPECT_EQ(r(0x1a, 2), 0xffffu);
  w(0x1a, 1, 2);

  // Bring the queue up and send one request through the notify region.
  test::RingBuilder ring{mem, 8};
  w(0x14, kStatusAcknowledge | kStatusDriver, 1);
  w(0x08, 1, 4);
  w(0x0c, 1, 4);
  w(0x14, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk, 1);
  w(0x18, 8, 2);
  w(0x20, test::RingBuilder::kDesc, 8);
  w(0x28, test::RingBuilder::kAvail, 4);
  w(0x2c, 0, 4);
  w(0x30, test::RingBuilder::kUsed, 8);
  w(0x1c, 1, 2);
  w(0x14, kStatusAcknowledge | kStatusDriver | kStatusFeaturesOk | kStatusDriverOk, 1);
  EXPECT_EQ(r(0x14, 1) & kStatusDriverOk, kStatusDriverOk);

  // Enable MSI-X (message control bit 15), bus mastering, program vector 1.
  uint16_t cap = 0;
  for (uint16_t at = cfg16(0x34) & 0xff; at != 0; at = cfg16(at) >> 8)
    if ((cfg16(at) & 0xff) == pci::kCapMsix) cap = at;
  uint8_t on[2] = {0x00, 0x80};
  root.config_write(0, static_cast<uint8_t>(slot), 0, cap + 2, on);
  uint8_t cmd[2] = {pci::kCommandMemorySpace | pci::kCommandBusMaster, 0};
  root.config_write(0, static_cast<uint8_t>(slot), 0, pci::kCommand, cmd);
  w(VirtioPci::kMsixTableOffset + 16, 0xfee0'0000, 4);
  w(VirtioPci::kMsixTableOffset + 16 + 8, 0x41, 4);
  w(VirtioPci::kMsixTableOffset + 16 + 12, 0, 4);  // unmask

  ring.desc(0, 0x10000, 32, kDescFlagWrite);
  ring.publish(0);
  w(VirtioPci::kNotifyOffset, 0, 2);
  EXPECT_EQ(ring.used_len(0), 32u);
  ASSERT_EQ(msis.sent.size(), 1u);
  EXPECT_EQ(msis.sent[0].first, 0xfee0'0000u);
  EXPECT_EQ(msis.sent[0].second, 0x41u);
  EXPECT_FALSE(irq.last[pci::intx_gsi(slot)]);  // MSI-X, not INTx

  w(VirtioPci::kNotifyOffset + 4 * 5, 5, 2);  // a queue that does not exist
  EXPECT_FALSE(r(0x14, 1) & kStatusNeedsReset);
}

TEST(VirtioPciTest, IntxWithoutMsix) {
  memory::GuestMemory mem = *memory::GuestMemory::create(1 << 20);
  bus::Bus mmio("mmio");
  Levels irq;
  pci::PciRoot root(mmio, &irq);
  auto dev = std::make_shared<VirtioPci>(std::make_shared<VirtioRng>(), mem);
  const unsigned slot = *root.add(dev, 3);
  const uint64_t bar = dev->bar_address(0);
  // A queue enabled with its table outside RAM: DEVICE_NEEDS_RESET and a config interrupt,
  // on INTx# since MSI-X is off.
  uint8_t hi[4] = {1, 0, 0, 0}, one[2] = {1, 0};
  mmio.write(bar + 0x24, hi);
  mmio.write(bar + 0x1c, one);
  EXPECT_TRUE(irq.last[pci::intx_gsi(slot)]);
  uint8_t b[1];
  mmio.read(bar + VirtioPci::kIsrOffset, b);
  EXPECT_EQ(b[0], kInterruptConfig);
  EXPECT_FALSE(irq.last[pci::intx_gsi(slot)]);
  mmio.read(bar + 0x14, b);
  EXPECT_TRUE(b[0] & kStatusNeedsReset);
}

}  // namespace
}  // namespace vessel::devices::virtio
