#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "devices/pci/config_access.hpp"
#include "devices/pci/pci_root.hpp"

namespace vessel::devices::pci {
namespace {

struct Levels : bus::IrqSink {
  void set_irq_level(uint32_t gsi, bool level) override { last[gsi] = level; }
  std::map<uint32_t, bool> last;
};

// A device with a 32-bit BAR 0 (8 KiB) and a 64-bit BAR 2 (16 KiB) with MSI-X (4 vectors):
// table at 0, PBA at 0x800. BAR reads answer with the offset.
class FakeDevice final : public PciDevice {
 public:
  FakeDevice() : PciDevice(PciIdentity{0x1234, 0x5678, 2, 0xff0000, 0x1234, 1}) {
    add_bar(0, 0x2000, false);
    add_bar(2, 0x4000, true);
    add_msix(4, 2, 0, 0x800);
  }
  std::string_view name() const override { return "fake"; }
  using PciDevice::set_intx;

 protected:
  void bar_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) override {
    bus::store_le(data, bar << 16 | offset);
  }
  void bar_write(unsigned, uint64_t, std::span<const uint8_t>) override {}
};

class PciTest : public ::testing::Test {
 protected:
  PciTest() { slot = *root->add(dev); }
  uint32_t cf8_read(uint8_t slot_, uint16_t reg, size_t size = 4) {
    uint8_t a[4], d[4] = {};
    bus::store_le(a, 0x8000'0000u | slot_ << 11 | (reg & 0xfc));
    ports.write(0, a);
    ports.read(4 + (reg & 3), std::span(d, size));
    return static_cast<uint32_t>(bus::load_le(std::span<const uint8_t>(d, size)));
  }
  void cf8_write(uint8_t slot_, uint16_t reg, uint32_t v, size_t size = 4) {
    uint8_t a[4], d[4];
    bus::store_le(a, 0x8000'0000u | slot_ << 11 | (reg & 0xfc));
    ports.write(0, a);
    bus::store_le(std::span(d, size), v);
    ports.write(4 + (reg & 3), std::span<const uint8_t>(d, size));
  }
  uint32_t ecam_read(uint8_t slot_, uint16_t reg) {
    uint8_t d[4];
    ecam.read(uint64_t{slot_} << 15 | reg, d);
    return static_cast<uint32_t>(bus::load_le(d));
  }
  uint32_t mmio_read32(uint64_t addr) {
    uint8_t d[4];
    mmio.read(addr, d);
    return static_cast<uint32_t>(bus::load_le(d));
  }
  void mmio_write32(uint64_t addr, uint32_t v) {
    uint8_t d[4];
    bus::store_le(d, v);
    mmio.write(addr, d);
  }

  bus::Bus mmio{"mmio"};
  Levels irq;
  std::shared_ptr<PciRoot> root = std::make_shared<PciRoot>(mmio, &irq);
  std::shared_ptr<FakeDevice> dev = std::make_shared<FakeDevice>();
  PciConfigPorts ports{root};
  PciEcam ecam{root};
  unsigned slot = 0;
};

TEST_F(PciTest, IdentityThroughBothMechanisms) {
  EXPECT_EQ(slot, 1u);
  EXPECT_EQ(cf8_read(0, 0), 0x00081b36u);  // host bridge
  EXPECT_EQ(cf8_read(1, 0), 0x56781234u);
  EXPECT_EQ(cf8_read(1, 2, 2), 0x5678u);
  EXPECT_EQ(ecam_read(1, 0), 0x56781234u);
  EXPECT_EQ(cf8_read(7, 0), 0xffffffffu);  // empty slot
  EXPECT_EQ(ecam_read(1, 0x100), 0u);      // extended space exists through ECAM
  EXPECT_EQ(cf8_read(1, 0x3d, 1), 1u);     // INTA#
  EXPECT_EQ(cf8_read(1, 0x3c, 1), intx_gsi(1));
  uint8_t d[4];
  ecam.read((uint64_t{1} << 20) | 0, d);  // bus 1 does not exist
  EXPECT_EQ(bus::load_le(d), 0xffffffffu);
}

TEST_F(PciTest, DisabledConfigAddressReadsOnes) {
  uint8_t a[4], d[4];
  bus::store_le(a, 1u << 11);  // enable bit clear
  ports.write(0, a);
  ports.read(4, d);
  EXPECT_EQ(bus::load_le(d), 0xffffffffu);
}

TEST_F(PciTest, BarSizing) {
  const uint32_t bar0 = cf8_read(1, 0x10);
  EXPECT_GE(bar0, k32BitWindowBase);
  EXPECT_EQ(bar0 % 0x2000, 0u);
  cf8_write(1, 0x04, 0);  // decoding off while sizing, as Linux does
  cf8_write(1, 0x10, 0xffffffff);
  EXPECT_EQ(cf8_read(1, 0x10), ~uint32_t{0x2000 - 1});
  cf8_write(1, 0x18, 0xffffffff);
  cf8_write(1, 0x1c, 0xffffffff);
  EXPECT_EQ(cf8_read(1, 0x18), ~uint32_t{0x4000 - 1} | kBarMem64);
  EXPECT_EQ(cf8_read(1, 0x1c), 0xffffffffu);
  EXPECT_EQ(cf8_read(1, 0x14), 0u);  // unimplemented BAR
  EXPECT_EQ(cf8_read(1, 0x20), 0u);  // upper half's neighbour: BAR 4 unimplemented
}

TEST_F(PciTest, BarsMapAndMoveWithDecoding) {
  const uint64_t bar0 = dev->bar_address(0);
  EXPECT_EQ(mmio_read32(bar0 + 0x10), 0x10u);
  cf8_write(1, 0x04, 0);  // memory decoding off: gone from the bus
  EXPECT_EQ(mmio_read32(bar0 + 0x10), 0xffffffffu);
  cf8_write(1, 0x10, 0xd000'0000);
  cf8_write(1, 0x04, kCommandMemorySpace);
  EXPECT_EQ(mmio_read32(0xd000'0010), 0x10u);
  EXPECT_EQ(mmio_read32(bar0 + 0x10), 0xffffffffu);
  // Moved while decoding stays on.
  cf8_write(1, 0x10, 0xd100'0000);
  EXPECT_EQ(mmio_read32(0xd100'0004), 0x4u);
  EXPECT_EQ(mmio_read32(0xd000'0004), 0xffffffffu);
  // The 64-bit BAR moved above 4 GiB.
  cf8_write(1, 0x18, 0);
  cf8_write(1, 0x1c, 0x10);
  EXPECT_EQ(dev->bar_address(2), 0x10'0000'0000u);
  EXPECT_EQ(mmio_read32(0x10'0000'0000 + 0x1000), (2u << 16) | 0x1000);
}

TEST_F(PciTest, MsixMaskingAndPendingBits) {
  std::vector<std::pair<uint64_t, uint32_t>> sent;
  dev->msix()->set_signal([&](uint64_t a, uint32_t d) { sent.push_back({a, d}); });
  const uint64_t table = dev->bar_address(2);
  mmio_write32(table + 16 * 1, 0xfee0'0000);
  mmio_write32(table + 16 * 1 + 8, 0x31);
  // Find the MSI-X capability and enable it; bus mastering on.
  uint16_t cap = cf8_read(1, 0x34, 1);
  while ((cf8_read(1, cap, 1)) != kCapMsix) cap = static_cast<uint16_t>(cf8_read(1, cap + 1, 1));
  EXPECT_EQ(cf8_read(1, cap + 2, 2) & 0x7ff, 3u);  // table size - 1
  cf8_write(1, cap + 2, kMsixEnable, 2);
  cf8_write(1, 0x04, kCommandMemorySpace | kCommandBusMaster, 2);

  EXPECT_TRUE(dev->msix()->notify(1));  // still masked (reset state): pending
  EXPECT_TRUE(sent.empty());
  EXPECT_EQ(mmio_read32(table + 0x800), 0b10u);  // PBA
  mmio_write32(table + 16 * 1 + 12, 0);          // unmask: the pending message goes out
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].second, 0x31u);
  EXPECT_EQ(mmio_read32(table + 0x800), 0u);

  cf8_write(1, cap + 2, kMsixEnable | kMsixFunctionMask, 2);
  dev->msix()->notify(1);
  EXPECT_EQ(sent.size(), 1u);
  cf8_write(1, cap + 2, kMsixEnable, 2);
  EXPECT_EQ(sent.size(), 2u);

  EXPECT_FALSE(dev->msix()->notify(4));  // beyond the table: ignored
  EXPECT_FALSE(dev->msix()->notify(0xffff));
  EXPECT_EQ(sent.size(), 2u);
  mmio_write32(table + 16 * 1 + 12, 0xfffffffe);  // reserved bits stay 0
  EXPECT_EQ(mmio_read32(table + 16 * 1 + 12), 0u);
}

TEST_F(PciTest, IntxFollowsCommandAndIsShared) {
  dev->set_intx(true);
  EXPECT_TRUE(irq.last[intx_gsi(1)]);
  EXPECT_TRUE(cf8_read(1, 0x06, 2) & kStatusInterrupt);
  cf8_write(1, 0x04, kCommandMemorySpace | kCommandIntxDisable, 2);
  EXPECT_FALSE(irq.last[intx_gsi(1)]);
  EXPECT_TRUE(cf8_read(1, 0x06, 2) & kStatusInterrupt);
  cf8_write(1, 0x04, kCommandMemorySpace, 2);
  EXPECT_TRUE(irq.last[intx_gsi(1)]);

  // Slot 9 shares slot 1's GSI: the line stays up until both let go.
  auto other = std::make_shared<FakeDevice>();
  ASSERT_EQ(*root->add(other, 9), 9u);
  ASSERT_EQ(intx_gsi(9), intx_gsi(1));
  other->set_intx(true);
  dev->set_intx(false);
  EXPECT_TRUE(irq.last[intx_gsi(1)]);
  other->set_intx(false);
  EXPECT_FALSE(irq.last[intx_gsi(1)]);
}

TEST_F(PciTest, ReadOnlyRegistersIgnoreWrites) {
  cf8_write(1, 0x00, 0);
  EXPECT_EQ(cf8_read(1, 0), 0x56781234u);
  cf8_write(1, 0x08, 0);
  EXPECT_EQ(cf8_read(1, 0x08) >> 8, 0xff0000u);
  EXPECT_FALSE(root->add(std::make_shared<FakeDevice>(), 1));  // occupied
  EXPECT_FALSE(root->add(std::make_shared<FakeDevice>(), 0));  // the host bridge's
}

TEST(BarAllocatorTest, AlignsAndRefusesBadSizes) {
  BarAllocator a;
  EXPECT_EQ(*a.allocate(0x1000, false), k32BitWindowBase);
  EXPECT_EQ(*a.allocate(0x4000, false), k32BitWindowBase + 0x4000);
  EXPECT_FALSE(a.allocate(0x3000, false));
  EXPECT_FALSE(a.allocate(0x100, false));
  BarAllocator high(true);
  EXPECT_EQ(*high.allocate(0x4000, true), k64BitWindowBase);
}

}  // namespace
}  // namespace vessel::devices::pci
