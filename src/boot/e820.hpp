// The e820 memory map handed to Linux in boot_params (zero-page.rst: e820_table at 0x2d0, at
// most 128 entries): guest RAM from GuestMemory, minus the legacy area below 1 MiB and any
// platform-reserved range, which are listed as reserved.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.hpp"
#include "boot/platform.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::boot {

enum class E820Type : uint32_t { kRam = 1, kReserved = 2, kAcpi = 3, kNvs = 4, kUnusable = 5 };

struct E820Entry {
  uint64_t addr;
  uint64_t size;
  E820Type type;
};

inline constexpr size_t kE820MaxEntries = 128;

// Sorted by address, non-overlapping. Fails when the list would exceed kE820MaxEntries or RAM
// is too small to hold the low boot structures (below 1 MiB).
Result<std::vector<E820Entry>> build_e820(const memory::GuestMemory& memory,
                                          const PlatformInfo& platform);

}  // namespace vessel::boot
