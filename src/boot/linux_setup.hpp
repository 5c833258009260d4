// The part of Linux booting shared by bzImage and vmlinux: given where the kernel was put, fill
// boot_params (zero page) and write everything else the kernel expects to find.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.hpp"
#include "boot/loader.hpp"
#include "boot/multiboot.hpp"
#include "boot/platform.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::boot {

struct LoadedKernel {
  std::vector<uint8_t> setup_header;  // bytes for boot_params from 0x1f1 (copied or made)
  uint64_t entry = 0;                 // 64-bit entry point (physical, identity-mapped)
  uint64_t end = 0;                   // first byte after the kernel's memory (init_size)
  uint32_t cmdline_size = 0;          // longest command line the kernel accepts
  uint64_t initrd_addr_max = 0;       // highest address an initrd byte may have
  const char* format = "";
};

// Writes command line, initrd, e820, MP and ACPI tables, boot_params and page tables.
Result<LoadedImage> finish_linux_boot(const memory::GuestMemory& memory, const BootFiles& files,
                                      const PlatformInfo& platform, const LoadedKernel& kernel);

// The end of the RAM region that starts at 0 (below the MMIO hole).
uint64_t low_ram_end(const memory::GuestMemory& memory);

}  // namespace vessel::boot
