// The Intel MultiProcessor Specification 1.4 table: a floating pointer structure and a
// configuration table listing the processors, the ISA bus, the IOAPIC and how each ISA IRQ is
// wired to it. Linux reads it when ACPI is off (acpi=off) or absent; with ACPI the MADT says
// the same. Layout: MP 1.4 §4 (floating pointer, Table 4-1; config header, Table 4-2;
// entries, Tables 4-3 to 4-9).
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::boot {

inline constexpr unsigned kMpMaxVcpus = 32;  // what fits in the table's KiB (layout.hpp)

// The floating pointer followed by the configuration table, as written at `address`.
std::vector<uint8_t> build_mptable(uint64_t address, unsigned vcpus);

// Writes the tables at layout::kMpTable. APIC IDs are 0..vcpus-1; the IOAPIC's ID is vcpus.
Result<void> write_mptable(const memory::GuestMemory& memory, unsigned vcpus);

}  // namespace vessel::boot
