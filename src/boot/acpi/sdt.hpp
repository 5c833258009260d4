// ACPI system description table plumbing (ACPI 6.5 §5.2): the common 36-byte header with its
// checksum, and the root pointers (RSDP, RSDT, XSDT). The tables themselves are in tables.hpp.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace vessel::boot::acpi {

inline constexpr size_t kHeaderSize = 36;  // §5.2.6, Table 5.4
inline constexpr size_t kRsdpSize = 36;    // §5.2.5.3, Table 5.3 (revision 2)

// Prepends the standard header to `body` and sets length and checksum.
std::vector<uint8_t> make_sdt(std::string_view signature, uint8_t revision,
                              std::span<const uint8_t> body);

// RSDT (32-bit entries) and XSDT (64-bit entries) listing the tables at `addresses`.
std::vector<uint8_t> make_rsdt(std::span<const uint64_t> addresses);
std::vector<uint8_t> make_xsdt(std::span<const uint64_t> addresses);

// The ACPI 2.0+ RSDP with both checksums.
std::vector<uint8_t> make_rsdp(uint64_t rsdt, uint64_t xsdt);

}  // namespace vessel::boot::acpi
