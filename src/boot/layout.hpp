// Where the Linux boot path puts things in guest-physical memory. One table, so no two
// structures can silently overlap; layout_test checks the ranges are disjoint.
//
//   0x0000_0500  GDT (flat code 0x10 / data 0x18, boot.rst "64-bit boot protocol")
//   0x0000_0520  IDT (empty: the kernel is entered with interrupts off)
//   0x0000_7000  boot_params, the "zero page" (Documentation/arch/x86/zero-page.rst)
//   0x0000_8ff0  initial stack pointer (grows down, unused by the kernel's 64-bit entry)
//   0x0000_9000  PML4, then PDPT, then 4 page directories: identity map of 0-4 GiB, 2 MiB pages
//   0x0002_0000  kernel command line
//   0x0009_fc00  MP floating pointer + configuration table (last KiB of base memory, MP 1.4 §4)
//   0x000e_0000  ACPI tables, RSDP first (the area the kernel also scans, ACPI 6.5 §5.2.5.1)
//   0x0010_0000  protected-mode kernel (or pref_address for relocatable kernels)
// [0x9fc00, 0x100000) is reported as reserved in the e820 map: EBDA, VGA hole and BIOS area.
#pragma once

#include <cstdint>

namespace vessel::boot::layout {

inline constexpr uint64_t kGdt = 0x500;
inline constexpr uint64_t kIdt = 0x520;
inline constexpr uint64_t kZeroPage = 0x7000;
inline constexpr uint64_t kZeroPageSize = 0x1000;
inline constexpr uint64_t kBootStack = 0x8ff0;
inline constexpr uint64_t kPml4 = 0x9000;
inline constexpr uint64_t kPdpt = 0xa000;
inline constexpr uint64_t kPageDirs = 0xb000;  // 4 consecutive pages
inline constexpr uint64_t kPageDirCount = 4;   // 4 x 1 GiB
inline constexpr uint64_t kPageTablesEnd = kPageDirs + kPageDirCount * 0x1000;
inline constexpr uint64_t kCmdline = 0x20000;
inline constexpr uint64_t kCmdlineMax = 0x10000;  // our window; the kernel's cmdline_size is less
inline constexpr uint64_t kMpTable = 0x9fc00;
inline constexpr uint64_t kMpTableEnd = 0xa0000;
inline constexpr uint64_t kAcpiTables = 0xe0000;
inline constexpr uint64_t kAcpiTablesEnd = 0x100000;
inline constexpr uint64_t kHighMemory = 0x100000;  // 1 MiB: default kernel load address

// e820: the legacy area between base memory and 1 MiB is not RAM for the guest.
inline constexpr uint64_t kReservedLowStart = kMpTable;
inline constexpr uint64_t kReservedLowEnd = kHighMemory;

// Interrupt controllers at their PC addresses (the IOAPIC's and LAPIC's MMIO windows).
inline constexpr uint64_t kIoApicAddress = 0xfec00000;
inline constexpr uint64_t kLocalApicAddress = 0xfee00000;

}  // namespace vessel::boot::layout
