// Loading a multiboot v1 kernel (Multiboot Specification 0.6.96): its segments (ELF32 program
// headers, or the header's address fields — the "a.out kludge"), the initrd as the one boot
// module, and the information structure; the vCPU starts in flat 32-bit protected mode with
// EAX = 0x2BADB002 and EBX = the structure's address (§3.2).
#pragma once

#include <cstdint>
#include <span>

#include "base/result.hpp"
#include "boot/loader.hpp"

namespace vessel::boot {

struct BootFiles {
  std::span<const uint8_t> kernel;
  std::span<const uint8_t> initrd;  // empty when there is none
  std::string initrd_path;          // the module's string
  std::string cmdline;
};

Result<LoadedImage> load_multiboot(const memory::GuestMemory& memory, const BootFiles& files);

}  // namespace vessel::boot
