// How a Linux guest learns about the machine's virtio-mmio transports, which it cannot probe:
//  - on the kernel command line, "virtio_mmio.device=<size>@<base>:<irq>" per device, for
//    kernels built with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES (Firecracker's guests);
//  - in the DSDT, one device per transport with _HID "LNRO0005" (the ID Linux's virtio_mmio
//    driver matches) and a _CRS holding the register window and the interrupt, declared
//    level-triggered, active high (the transport keeps the line up while it has something to
//    say), for kernels without the command-line option, such as Debian's.
// A kernel with both finds each device twice; the second probe fails (the window is busy) and
// the device works through the first.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "devices/pci/pci_layout.hpp"

namespace vessel::boot {

// The command-line words, space-separated ("" for no devices).
std::string virtio_mmio_cmdline(std::span<const devices::pci::VirtioMmioSlot> slots);

namespace acpi {
// AML Device objects \_SB.VRnn for the DSDT.
std::vector<uint8_t> virtio_mmio_aml(std::span<const devices::pci::VirtioMmioSlot> slots);
}  // namespace acpi

}  // namespace vessel::boot
