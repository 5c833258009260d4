// PlatformInfo: what the firmware tables and the e820 map describe about the machine beyond
// its RAM (CPU count, extra reserved ranges). The machine recipe fills it; the boot module
// only describes the platform, it does not create devices.
#pragma once

#include <cstdint>
#include <vector>

#include "devices/pci/pci_layout.hpp"

namespace vessel::boot {

struct AddressRange {
  uint64_t base;
  uint64_t size;
  uint64_t end() const { return base + size; }
};

struct PlatformInfo {
  unsigned vcpus = 1;
  // Reported as reserved in the e820 map in addition to the legacy area below 1 MiB, e.g. a
  // PCIe ECAM window (Linux trusts MCFG only when its window is e820-reserved).
  std::vector<AddressRange> reserved;
  // A PCI host bridge laid out as devices/pci/pci_layout.hpp says: the ACPI tables then carry
  // its MCFG and \_SB.PCI0 (acpi/pci.hpp).
  bool pci = false;
  // virtio-mmio transports (layout in pci_layout.hpp), announced to a Linux kernel on its
  // command line and in the DSDT (virtio_mmio.hpp).
  std::vector<devices::pci::VirtioMmioSlot> virtio_mmio;
};

}  // namespace vessel::boot
