// How virtio-mmio devices are announced to Linux: the command-line words and the DSDT devices
// (LNRO0005 with the register window and the interrupt), and both in a loaded kernel's boot
// data.
#include "boot/virtio_mmio.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "boot/boot_params.hpp"
#include "boot/byte_writer.hpp"
#include "boot/layout.hpp"
#include "boot/linux.hpp"
#include "synthetic_kernels.hpp"

namespace vessel::boot {
namespace {

namespace pci = devices::pci;

size_t find(std::span<const uint8_t> hay, std::string_view needle, size_t from = 0) {
  auto it = std::search(hay.begin() + static_cast<ptrdiff_t>(from), hay.end(), needle.begin(),
                        needle.end(), [](uint8_t a, char b) { return a == uint8_t(b); });
  return it == hay.end() ? std::string::npos : size_t(it - hay.begin());
}

const pci::VirtioMmioSlot kSlots[] = {pci::virtio_mmio_slot(0), pci::virtio_mmio_slot(1)};

TEST(VirtioMmioBootTest, SlotsDoNotOverlapAndUseDistinctLegacyIrqs) {
  for (unsigned i = 0; i < pci::kVirtioMmioMaxDevices; ++i) {
    const auto s = pci::virtio_mmio_slot(i);
    EXPECT_LE(s.size, pci::kVirtioMmioStride);
    EXPECT_GE(s.base, pci::kEcamBase + pci::kEcamSize);
    EXPECT_LT(s.gsi, 16u);  // a Linux IRQ number only equals the GSI for legacy IRQs
    for (uint32_t used : {0u, 1u, 2u, 4u, 8u, 9u}) EXPECT_NE(s.gsi, used);  // PIT, kbd, COM1...
    for (unsigned j = 0; j < i; ++j) EXPECT_NE(s.gsi, pci::virtio_mmio_slot(j).gsi);
  }
}

TEST(VirtioMmioBootTest, CommandLineNamesSizeBaseAndIrq) {
  EXPECT_EQ(virtio_mmio_cmdline(kSlots),
            "virtio_mmio.device=0x200@0xe0100000:5 virtio_mmio.device=0x200@0xe0101000:6");
  EXPECT_EQ(virtio_mmio_cmdline({}), "");
}

TEST(VirtioMmioBootTest, DsdtDevicesCarryHidWindowAndLevelInterrupt) {
  const auto aml = acpi::virtio_mmio_aml(kSlots);
  size_t at = 0;
  for (unsigned i = 0; i < 2; ++i) {
    ASSERT_LT(at + 2, aml.size());
    EXPECT_EQ(aml[at], 0x5B);        // ExtOpPrefix
    EXPECT_EQ(aml[at + 1], 0x82);    // DeviceOp
    ASSERT_EQ(aml[at + 2] >> 6, 1);  // two-byte PkgLength, covering all after the opcode
    const size_t end = at + 2 + ((aml[at + 2] & 0xF) | (size_t{aml[at + 3]} << 4));
    ASSERT_LE(end, aml.size());
    const auto dev = std::span(aml).subspan(at, end - at);
    const std::string name = std::string("\\\x2E_SB_VR0") + char('0' + i);
    EXPECT_EQ(find(dev, name), 4u);
    const size_t hid = find(dev, "_HID");
    ASSERT_NE(hid, std::string::npos);
    EXPECT_EQ(dev[hid + 4], 0x0D);  // StringPrefix
    EXPECT_EQ(find(dev, std::string_view("LNRO0005\0", 9)), hid + 5);
    const size_t uid = find(dev, "_UID");
    ASSERT_NE(uid, std::string::npos);
    EXPECT_EQ(dev[uid + 5], i);
    // Memory32Fixed (ReadWrite, base, size)
    const size_t mem = find(dev, std::string_view("\x86\x09\x00\x01", 4));
    ASSERT_NE(mem, std::string::npos);
    EXPECT_EQ(read_le(dev, mem + 4, 4), kSlots[i].base);
    EXPECT_EQ(read_le(dev, mem + 8, 4), kSlots[i].size);
    // Extended interrupt: consumer, level, active high, exclusive; one GSI; then the end tag.
    ASSERT_EQ(dev[mem + 12], 0x89);
    EXPECT_EQ(read_le(dev, mem + 13, 2), 6u);
    EXPECT_EQ(dev[mem + 15], 0x01);
    EXPECT_EQ(dev[mem + 16], 1);
    EXPECT_EQ(read_le(dev, mem + 17, 4), kSlots[i].gsi);
    EXPECT_EQ(dev[mem + 21], 0x79);
    EXPECT_EQ(mem + 23, dev.size());  // the buffer ends the device
    at = end;
  }
  EXPECT_EQ(at, aml.size());
}

TEST(VirtioMmioBootTest, LinuxBootAnnouncesDevicesOnCmdlineAndInDsdt) {
  auto mem = memory::GuestMemory::create(64 << 20);
  ASSERT_TRUE(mem.has_value());
  PlatformInfo platform{.vcpus = 1, .reserved = {}};
  platform.virtio_mmio.assign(std::begin(kSlots), std::end(kSlots));
  const auto kernel = synthetic::make_bzimage();
  auto loaded = load_linux(*mem, BootFiles{kernel, {}, "", "console=hvc0"}, platform);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;

  std::vector<uint8_t> zero_page(layout::kZeroPageSize);
  ASSERT_TRUE(mem->read(layout::kZeroPage, zero_page).has_value());
  std::vector<uint8_t> text(200);
  ASSERT_TRUE(mem->read(read_le(zero_page, bp::kCmdLinePtr, 4), text).has_value());
  EXPECT_STREQ(reinterpret_cast<const char*>(text.data()),
               ("console=hvc0 " + virtio_mmio_cmdline(kSlots)).c_str());

  std::vector<uint8_t> acpi(layout::kAcpiTablesEnd - layout::kAcpiTables);
  ASSERT_TRUE(mem->read(layout::kAcpiTables, acpi).has_value());
  const size_t dsdt = find(acpi, "DSDT");
  ASSERT_NE(dsdt, std::string::npos);
  const auto table = std::span(acpi).subspan(dsdt, read_le(acpi, dsdt + 4, 4));
  EXPECT_EQ(checksum_byte(table), 0);
  const auto aml = acpi::virtio_mmio_aml(kSlots);
  EXPECT_NE(find(table, std::string_view(reinterpret_cast<const char*>(aml.data()), aml.size())),
            std::string::npos);
}

}  // namespace
}  // namespace vessel::boot
