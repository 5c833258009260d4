// The multiboot v1 header a kernel embeds to say how it wants to be loaded (Multiboot
// Specification 0.6.96 §3.1): found, checksummed and decoded here; loading is multiboot.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace vessel::boot {

inline constexpr uint32_t kMultibootHeaderMagic = 0x1BADB002;
inline constexpr uint32_t kMultibootBootloaderMagic = 0x2BADB002;  // in EAX at entry (§3.2)
inline constexpr size_t kMultibootSearchLimit = 8192;              // §3.1.1

// Header flags (§3.1.2). Bits 0-15 are requirements the loader must honour or refuse.
namespace mb_header_flags {
inline constexpr uint32_t kPageAlignModules = 1u << 0;
inline constexpr uint32_t kWantMemoryInfo = 1u << 1;
inline constexpr uint32_t kWantVideoMode = 1u << 2;
inline constexpr uint32_t kAddressFields = 1u << 16;  // the "a.out kludge" (§3.1.3)
inline constexpr uint32_t kRequiredMask = 0xffff;
}  // namespace mb_header_flags

struct MultibootHeader {
  size_t file_offset = 0;  // where the magic is in the file
  uint32_t flags = 0;
  // Valid only with kAddressFields (§3.1.3); physical addresses.
  uint32_t header_addr = 0, load_addr = 0, load_end_addr = 0, bss_end_addr = 0, entry_addr = 0;
};

// The first header in the first 8 KiB: 4-byte aligned, magic + flags + checksum == 0 (mod 2^32).
// A header asking for address fields it does not have room for (in the file) is not a header.
std::optional<MultibootHeader> find_multiboot_header(std::span<const uint8_t> image);

}  // namespace vessel::boot
