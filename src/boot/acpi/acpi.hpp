// Writing the ACPI tables into guest memory at layout::kAcpiTables: RSDP first (16-byte
// aligned, inside the 0xE0000-0xFFFFF area the kernel scans when boot_params carries no RSDP
// address), then FACS, DSDT, FADT, MADT, any extra tables, RSDT and XSDT.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::boot::acpi {

struct AcpiConfig {
  unsigned vcpus = 1;
  // Complete tables (header included, checksummed, e.g. an MCFG) listed in RSDT and XSDT.
  std::vector<std::vector<uint8_t>> extra_tables;
  // AML appended to the DSDT body (device objects such as virtio-mmio).
  std::vector<uint8_t> dsdt_aml;
};

// Returns the RSDP's guest-physical address.
Result<uint64_t> write_acpi_tables(const memory::GuestMemory& memory, const AcpiConfig& config);

}  // namespace vessel::boot::acpi
