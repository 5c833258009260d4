#include "boot/multiboot_header.hpp"

#include <algorithm>
#include <cstring>

namespace vessel::boot {
namespace {

uint32_t le32(std::span<const uint8_t> bytes, size_t offset) {
  uint32_t v;
  std::memcpy(&v, bytes.data() + offset, 4);  // x86 hosts only: little-endian like the guest
  return v;
}

}  // namespace

std::optional<MultibootHeader> find_multiboot_header(std::span<const uint8_t> image) {
  const size_t limit = std::min(image.size(), kMultibootSearchLimit);
  for (size_t off = 0; off + 12 <= limit; off += 4) {
    const uint32_t magic = le32(image, off);
    if (magic != kMultibootHeaderMagic) continue;
    const uint32_t flags = le32(image, off + 4);
    const uint32_t checksum = le32(image, off + 8);
    if (static_cast<uint32_t>(magic + flags + checksum) != 0) continue;

    MultibootHeader h;
    h.file_offset = off;
    h.flags = flags;
    if (flags & mb_header_flags::kAddressFields) {
      if (off + 32 > image.size()) continue;
      h.header_addr = le32(image, off + 12);
      h.load_addr = le32(image, off + 16);
      h.load_end_addr = le32(image, off + 20);
      h.bss_end_addr = le32(image, off + 24);
      h.entry_addr = le32(image, off + 28);
    }
    return h;
  }
  return std::nullopt;
}

}  // namespace vessel::boot
