// The CPU state for entering a 64-bit kernel directly, as the Linux 64-bit boot protocol asks
// (Documentation/arch/x86/boot.rst, "64-bit Boot Protocol"): long mode with paging, an
// identity map covering the kernel, boot_params and command line (we map all of 0-4 GiB with
// 2 MiB pages, SDM Vol. 3A §4.5), a GDT with flat __BOOT_CS = 0x10 and __BOOT_DS = 0x18,
// interrupts off, RSI = boot_params.
#pragma once

#include <cstdint>

#include "arch/x86/cpu_state.hpp"
#include "base/result.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::boot {

inline constexpr uint16_t kBootCs = 0x10;
inline constexpr uint16_t kBootDs = 0x18;

// Writes the GDT and page tables at their layout.hpp addresses.
Result<void> write_long_mode_tables(const memory::GuestMemory& memory);

// The entry state: RIP = entry, RSI = boot_params, CR3 = the identity map.
arch::CpuState long_mode_entry_state(uint64_t entry, uint64_t boot_params);

}  // namespace vessel::boot
