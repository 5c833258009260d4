// The multiboot information structure (Multiboot Specification 0.6.96 §3.3) that a multiboot
// kernel finds through EBX: memory sizes, the memory map, the command line and the modules.
//
// It is written to a fixed low "boot info area" that the loader keeps free of kernel
// segments (below the 0x7c00 flat load address, above the real-mode IVT and BDA):
//   0x1000  the information structure (88 bytes: fields up to and including the VBE ones)
//   0x1100  memory map entries (24 bytes each)
//   0x1300  module list (16 bytes per module)
//   0x1380  boot loader name, "vessel"
//   0x1400  module string (the initrd's path), up to 0xc00 bytes with its NUL
//   0x2000  command line, up to 0x5000 bytes with its NUL
//   0x7000  end of the area
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/result.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::boot {

inline constexpr uint64_t kBootInfoAreaStart = 0x1000;
inline constexpr uint64_t kBootInfoAreaEnd = 0x7000;
inline constexpr uint64_t kMultibootInfoAddress = 0x1000;
inline constexpr uint64_t kMultibootMmapAddress = 0x1100;
inline constexpr uint64_t kMultibootModsAddress = 0x1300;
inline constexpr uint64_t kMultibootLoaderNameAddress = 0x1380;
inline constexpr uint64_t kMultibootModStringAddress = 0x1400;
inline constexpr uint64_t kMultibootCmdlineAddress = 0x2000;

// Information structure flags (§3.3): which fields are valid.
namespace mb_info_flags {
inline constexpr uint32_t kMemory = 1u << 0, kCmdline = 1u << 2, kMods = 1u << 3, kMmap = 1u << 6,
                          kLoaderName = 1u << 9;
}

// Memory map entry types (§3.3).
inline constexpr uint32_t kMmapAvailable = 1, kMmapReserved = 2;

struct MultibootModule {
  uint32_t start = 0, end = 0;  // [start, end) in guest-physical memory
  std::string string;           // what the kernel sees as the module's string
};

// Writes the structure and everything it points to; returns its guest-physical address.
Result<uint32_t> write_multiboot_info(const memory::GuestMemory& memory, const std::string& cmdline,
                                      const std::optional<MultibootModule>& module);

}  // namespace vessel::boot
