// The command-line words for the console's guest device and the virtio transport.
#include "config/vm_config.hpp"

#include <gtest/gtest.h>

namespace vessel::config {
namespace {

TEST(VmConfigTest, ConsoleDevice) {
  EXPECT_EQ(parse_console_device("serial").value(), ConsoleSpec::Device::kSerial);
  EXPECT_EQ(parse_console_device("virtio").value(), ConsoleSpec::Device::kVirtio);
  for (const char* bad : {"", "hvc0", "Virtio", "virtio "})
    EXPECT_FALSE(parse_console_device(bad).has_value()) << bad;
  EXPECT_EQ(ConsoleSpec{}.device, ConsoleSpec::Device::kSerial);  // the UART by default
}

TEST(VmConfigTest, VirtioTransport) {
  EXPECT_EQ(parse_virtio_transport("pci").value(), VirtioTransport::kPci);
  EXPECT_EQ(parse_virtio_transport("mmio").value(), VirtioTransport::kMmio);
  for (const char* bad : {"", "MMIO", "virtio-mmio"})
    EXPECT_FALSE(parse_virtio_transport(bad).has_value()) << bad;
  EXPECT_EQ(MachineSpec{}.virtio_transport, VirtioTransport::kPci);
}

}  // namespace
}  // namespace vessel::config
