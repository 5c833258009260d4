// Recognising what kind of boot image a file is, from its bytes alone. This is the one
// dispatch point for image formats: a new format (the Linux boot protocol) is a new enum
// value here and a new case in loader.cpp.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace vessel::boot {

enum class ImageFormat {
  kLinuxBzImage,  // "HdrS" at 0x202 (Documentation/arch/x86/boot.rst); not loadable yet
  kMultiboot,     // a multiboot v1 header in the first 8 KiB (Multiboot 0.6.96 §3.1)
  kElf,           // an ELF file without a multiboot header (e.g. a vmlinux); not loadable
  kFlat,          // anything else: raw code loaded at a fixed address
};

std::string_view to_string(ImageFormat format);

// Linux is checked first: its magic sits at a fixed offset, whereas a multiboot header may be
// anywhere in the first 8 KiB.
ImageFormat detect_format(std::span<const uint8_t> image);

}  // namespace vessel::boot
