// The Linux x86 boot protocol without firmware (Documentation/arch/x86/boot.rst): vessel does
// what a boot loader does, then enters the kernel through its 64-bit entry point.
//   - load_linux:   a bzImage. The setup header is validated (protocol 2.12+, XLF_KERNEL_64),
//                   the protected-mode part is loaded at pref_address (relocatable kernels) or
//                   1 MiB, and entered at load address + 0x200; the kernel decompresses itself.
//   - load_vmlinux: an uncompressed ELF64 vmlinux (what Firecracker boots). Its PT_LOAD
//                   segments are loaded at their physical addresses and entered at e_entry
//                   (startup_64), skipping in-guest decompression.
// Both fill boot_params (command line, initrd, e820 from GuestMemory, ACPI RSDP address), write
// the MP and ACPI tables and the identity-mapped page tables, and return the long-mode entry
// state with RSI = boot_params. Memory layout: layout.hpp.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.hpp"
#include "boot/loader.hpp"
#include "boot/multiboot.hpp"  // BootFiles
#include "boot/platform.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::boot {

Result<LoadedImage> load_linux(const memory::GuestMemory& memory, const BootFiles& files,
                               const PlatformInfo& platform);

Result<LoadedImage> load_vmlinux(const memory::GuestMemory& memory, const BootFiles& files,
                                 const PlatformInfo& platform);

// An ELF64 x86-64 file: the format load_vmlinux takes.
bool is_elf64_x86_64(std::span<const uint8_t> image);

}  // namespace vessel::boot
