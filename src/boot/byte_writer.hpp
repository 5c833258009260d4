// Little-endian field writing and reading in byte buffers, for the firmware tables and boot
// structures: each field is written at its documented offset, so the code reads like the
// specification's offset tables and no packed structs are needed. Writing past the end grows
// the buffer (tables are built field by field); no write can go outside it.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace vessel::boot {

class ByteWriter {
 public:
  explicit ByteWriter(size_t size) : bytes_(size, 0) {}

  void u8(size_t off, uint8_t v) { put(off, &v, 1); }
  void u16(size_t off, uint16_t v) { le(off, v, 2); }
  void u32(size_t off, uint32_t v) { le(off, v, 4); }
  void u64(size_t off, uint64_t v) { le(off, v, 8); }
  // Writes `text` padded with `pad` to `width` bytes (signatures, OEM IDs).
  void str(size_t off, std::string_view text, size_t width, char pad = ' ') {
    for (size_t i = 0; i < width; ++i) u8(off + i, uint8_t(i < text.size() ? text[i] : pad));
  }
  void bytes(size_t off, std::span<const uint8_t> data) { put(off, data.data(), data.size()); }

  std::vector<uint8_t>& data() { return bytes_; }
  const std::vector<uint8_t>& data() const { return bytes_; }
  size_t size() const { return bytes_.size(); }

 private:
  void le(size_t off, uint64_t v, size_t n) {
    uint8_t b[8];
    for (size_t i = 0; i < n; ++i) b[i] = uint8_t(v >> (8 * i));
    put(off, b, n);
  }
  void put(size_t off, const void* src, size_t n) {
    if (off > bytes_.size() || n > bytes_.size() - off) bytes_.resize(off + n, 0);
    std::memcpy(bytes_.data() + off, src, n);
  }
  std::vector<uint8_t> bytes_;
};

// Reads a little-endian integer of `n` bytes; 0 when the range is outside `data` (callers
// check sizes first, this only keeps a mistake from reading out of bounds).
inline uint64_t read_le(std::span<const uint8_t> data, size_t off, size_t n) {
  if (off > data.size() || n > data.size() - off) return 0;
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v |= uint64_t{data[off + i]} << (8 * i);
  return v;
}

// The byte that makes the sum of `data` zero modulo 256 (ACPI 6.5 §5.2.5.3, MP 1.4 §4.1).
inline uint8_t checksum_byte(std::span<const uint8_t> data) {
  uint8_t sum = 0;
  for (uint8_t b : data) sum = uint8_t(sum + b);
  return uint8_t(-sum);
}

}  // namespace vessel::boot
