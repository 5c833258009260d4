// Reading a boot image (kernel, initrd) from the host file system into memory. The loaders
// parse the bytes afterwards, so every offset they find in a header is checked against the
// size read here, never against what the file claims.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace vessel::boot {

// The whole file. Fails on an unreadable, empty or non-regular file, or one larger than
// `max_size` (a boot image cannot be larger than the guest RAM it must fit in).
Result<std::vector<uint8_t>> read_image_file(const std::string& path, uint64_t max_size);

}  // namespace vessel::boot
