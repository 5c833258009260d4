// BarAllocator: where the VMM places memory BARs when it builds the machine (there is no
// firmware to do it). BARs are naturally aligned (PCI Local Bus Spec 3.0 §6.2.5.1: a BAR's
// size is a power of two and its address a multiple of it). 32-bit BARs go to the window below
// 4 GiB; 64-bit BARs go there as well unless `high_64bit` is set, because Linux keeps firmware
// placement only inside the host bridge's windows: with `high_64bit` the ACPI _CRS (if any)
// must also list [k64BitWindowBase, +k64BitWindowSize).
#pragma once

#include <cstdint>

#include "base/result.hpp"
#include "devices/pci/pci_layout.hpp"

namespace vessel::devices::pci {

class BarAllocator {
 public:
  explicit BarAllocator(bool high_64bit = false) : high_64bit_(high_64bit) {}

  // `size` must be a power of two of at least 4 KiB (the page granularity MMIO exits need).
  Result<uint64_t> allocate(uint64_t size, bool is64);

 private:
  struct Window {
    uint64_t next;
    uint64_t end;
  };
  static Result<uint64_t> take(Window& w, uint64_t size);

  bool high_64bit_;
  Window low_{k32BitWindowBase, k32BitWindowBase + k32BitWindowSize};
  Window high_{k64BitWindowBase, k64BitWindowBase + k64BitWindowSize};
};

}  // namespace vessel::devices::pci
