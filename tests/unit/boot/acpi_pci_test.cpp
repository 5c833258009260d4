// The PCI host bridge's firmware description: MCFG fields and the AML framing of \_SB.PCI0.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "boot/acpi/pci.hpp"
#include "boot/acpi/sdt.hpp"
#include "boot/byte_writer.hpp"
#include "devices/pci/pci_layout.hpp"

namespace vessel::boot::acpi {
namespace {

namespace pci = devices::pci;

size_t find(const std::vector<uint8_t>& hay, const std::string& needle) {
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end());
  return it == hay.end() ? std::string::npos : size_t(it - hay.begin());
}

TEST(AcpiPciTest, McfgDescribesTheEcamWindow) {
  const auto t = make_mcfg();
  ASSERT_EQ(t.size(), kHeaderSize + 8 + 16);
  EXPECT_EQ(std::string(t.begin(), t.begin() + 4), "MCFG");
  EXPECT_EQ(read_le(t, 4, 4), t.size());
  EXPECT_EQ(t[8], 1);  // revision
  EXPECT_EQ(checksum_byte(t), 0);
  EXPECT_EQ(read_le(t, kHeaderSize, 8), 0u);  // reserved
  EXPECT_EQ(read_le(t, kHeaderSize + 8, 8), pci::kEcamBase);
  EXPECT_EQ(read_le(t, kHeaderSize + 16, 2), pci::kPciSegment);
  EXPECT_EQ(t[kHeaderSize + 18], pci::kEcamFirstBus);
  EXPECT_EQ(t[kHeaderSize + 19], pci::kEcamLastBus);
}

TEST(AcpiPciTest, HostBridgeDeviceFraming) {
  const auto aml = pci_host_bridge_aml();
  ASSERT_GT(aml.size(), 64u);
  EXPECT_EQ(aml[0], 0x5B);  // ExtOpPrefix
  EXPECT_EQ(aml[1], 0x82);  // DeviceOp
  // Two-byte PkgLength covering everything after the opcode.
  ASSERT_EQ(aml[2] >> 6, 1);
  const size_t len = (aml[2] & 0xF) | (size_t{aml[3]} << 4);
  EXPECT_EQ(len, aml.size() - 2);
  EXPECT_EQ(find(aml, std::string("\\\x2E_SB_PCI0")), 4u);
  const size_t hid = find(aml, "_HID");
  ASSERT_NE(hid, std::string::npos);
  EXPECT_EQ(aml[hid + 4], 0x0C);
  EXPECT_EQ(read_le(aml, hid + 5, 4), 0x030AD041u);  // PNP0A03
  EXPECT_NE(find(aml, "_PRT"), std::string::npos);
}

TEST(AcpiPciTest, CrsListsTheBarWindowAndEndsWithEndTag) {
  const auto aml = pci_host_bridge_aml();
  const size_t crs = find(aml, "_CRS");
  ASSERT_NE(crs, std::string::npos);
  ASSERT_EQ(aml[crs + 4], 0x11);  // BufferOp
  const size_t size_at = crs + 5 + ((aml[crs + 5] >> 6) + 1);
  ASSERT_EQ(aml[size_at], 0x0B);  // WordPrefix
  const size_t n = read_le(aml, size_at + 1, 2);
  const size_t start = size_at + 3;
  ASSERT_LE(start + n, aml.size());
  EXPECT_EQ(aml[start + n - 2], 0x79);  // end tag
  // The DWord memory descriptor: min and max of the 32-bit BAR window.
  size_t at = start;
  bool found = false;
  while (at < start + n - 2) {
    if (aml[at] == 0x87) {
      EXPECT_EQ(read_le(aml, at + 10, 4), pci::k32BitWindowBase);
      EXPECT_EQ(read_le(aml, at + 14, 4), pci::k32BitWindowBase + pci::k32BitWindowSize - 1);
      found = true;
    }
    // Large items: 3-byte header + length; small items: 1 + (tag & 7).
    at += (aml[at] & 0x80) ? 3 + read_le(aml, at + 1, 2) : 1 + (aml[at] & 7);
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace vessel::boot::acpi
