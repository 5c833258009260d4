// IoDevice: what a device exposes on a bus. `offset` is relative to the start of the range the
// device was registered at; `data` is the access (1, 2, 4 or 8 bytes, little-endian).
// Devices guard their own state: accesses may come from any vCPU thread.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace vessel::bus {

class IoDevice {
 public:
  virtual ~IoDevice() = default;
  virtual std::string_view name() const = 0;
  virtual void read(uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void write(uint64_t offset, std::span<const uint8_t> data) = 0;
};

// Little-endian helpers for the (1..8 byte) access spans devices receive.
inline uint64_t load_le(std::span<const uint8_t> data) {
  uint64_t v = 0;
  for (size_t i = 0; i < data.size() && i < 8; ++i) v |= uint64_t{data[i]} << (8 * i);
  return v;
}
inline void store_le(std::span<uint8_t> data, uint64_t v) {
  for (size_t i = 0; i < data.size(); ++i) data[i] = i < 8 ? static_cast<uint8_t>(v >> (8 * i)) : 0;
}

}  // namespace vessel::bus
