// Whether a byte range holds only zeros, eight bytes at a time (stops early at a non-zero
// 64-byte stretch): for skipping the writes of zeros onto memory that is zero already.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>

namespace vessel {

inline bool all_zero(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  const size_t words = bytes.size() / 8;
  for (size_t i = 0; i < words; i += 8) {
    uint64_t any = 0;
    for (size_t j = i; j < std::min(words, i + 8); ++j) {
      uint64_t w;
      std::memcpy(&w, p + 8 * j, 8);
      any |= w;
    }
    if (any) return false;
  }
  return std::all_of(p + 8 * words, p + bytes.size(), [](uint8_t b) { return b == 0; });
}

}  // namespace vessel
