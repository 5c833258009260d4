// Boot image loading: recognises the kind of image given as the kernel and loads it into guest
// memory, returning the vCPU state to start it with. No firmware runs: we do the loader's job.
//   - multiboot v1 ELF (Multiboot Specification 0.6.96): started in 32-bit protected mode with
//     EAX = 0x2BADB002 and EBX = the multiboot information structure;
//   - flat binary: anything else, copied to the load address (default 0x7c00, like a boot
//     sector) and started in real mode at 0:load address.
//   - Linux bzImage and ELF64 vmlinux: the 64-bit boot protocol (linux.hpp).
#pragma once

#include <string>

#include "arch/x86/cpu_state.hpp"
#include "base/result.hpp"
#include "boot/platform.hpp"
#include "config/vm_config.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::boot {

inline constexpr uint64_t kDefaultFlatLoadAddress = 0x7c00;

struct LoadedImage {
  arch::CpuState entry;  // the boot vCPU's initial state
  std::string format;    // "flat", "multiboot", ...
};

// `platform` describes the machine to a Linux kernel (CPU count for the MP/ACPI tables,
// reserved ranges for e820); other formats ignore it.
Result<LoadedImage> load_kernel(const memory::GuestMemory& memory, const config::BootSource& source,
                                const PlatformInfo& platform = {});

}  // namespace vessel::boot
