#include "boot/format.hpp"

#include <cstring>

#include "boot/multiboot_header.hpp"

namespace vessel::boot {
namespace {

// The setup header's magic, "HdrS", at offset 0x202 of a bzImage (boot protocol >= 2.00).
constexpr size_t kLinuxMagicOffset = 0x202;
constexpr uint8_t kLinuxMagic[4] = {'H', 'd', 'r', 'S'};
constexpr uint8_t kElfMagic[4] = {0x7f, 'E', 'L', 'F'};

bool has_bytes_at(std::span<const uint8_t> image, size_t offset, const uint8_t (&magic)[4]) {
  return image.size() >= offset + 4 && std::memcmp(image.data() + offset, magic, 4) == 0;
}

}  // namespace

std::string_view to_string(ImageFormat format) {
  switch (format) {
    case ImageFormat::kLinuxBzImage:
      return "linux-bzimage";
    case ImageFormat::kMultiboot:
      return "multiboot";
    case ImageFormat::kElf:
      return "elf";
    case ImageFormat::kFlat:
      return "flat";
  }
  return "?";
}

ImageFormat detect_format(std::span<const uint8_t> image) {
  if (has_bytes_at(image, kLinuxMagicOffset, kLinuxMagic)) return ImageFormat::kLinuxBzImage;
  if (find_multiboot_header(image)) return ImageFormat::kMultiboot;
  if (has_bytes_at(image, 0, kElfMagic)) return ImageFormat::kElf;
  return ImageFormat::kFlat;
}

}  // namespace vessel::boot
