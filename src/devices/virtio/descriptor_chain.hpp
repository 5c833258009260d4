// DescriptorChain: one request the driver made available, after validation (virtqueue.cpp):
// the device-readable buffers in order, then the device-writable ones, each a span of guest
// RAM (bounds-checked by GuestMemory::span, so a device may read or write them directly).
// The guest may change the bytes while we look at them (they are its memory); what the device
// parses from them it must copy first and validate once.
//
// ChainReader / ChainWriter walk the readable and writable halves as one byte stream, so
// device request parsers never index a span themselves.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vessel::devices::virtio {

struct DescriptorChain {
  uint16_t head = 0;
  std::vector<std::span<uint8_t>> readable;
  std::vector<std::span<uint8_t>> writable;
  uint64_t readable_bytes = 0;
  uint64_t writable_bytes = 0;

  void clear() {
    readable.clear();
    writable.clear();
    readable_bytes = writable_bytes = 0;
  }
};

// Sequential reads from a list of buffers.
class ChainReader {
 public:
  explicit ChainReader(std::span<const std::span<uint8_t>> buffers) : buffers_(buffers) {}
  // Copies exactly out.size() bytes; false (and nothing consumed) if fewer remain.
  bool read(std::span<uint8_t> out);
  // Skips n bytes; false if fewer remain.
  bool skip(uint64_t n);
  uint64_t remaining() const;

 private:
  std::span<const std::span<uint8_t>> buffers_;
  size_t index_ = 0;
  uint64_t offset_ = 0;  // within buffers_[index_]
  uint64_t consumed_ = 0;
};

// Sequential writes into a list of buffers.
class ChainWriter {
 public:
  explicit ChainWriter(std::span<const std::span<uint8_t>> buffers) : buffers_(buffers) {}
  // Copies as much of `in` as fits; returns the number of bytes written.
  uint64_t write(std::span<const uint8_t> in);
  // The next `n` writable bytes as spans (at most n in total), consumed; for zero-copy I/O.
  std::vector<std::span<uint8_t>> take(uint64_t n);
  uint64_t written() const { return written_; }
  uint64_t remaining() const;

 private:
  std::span<const std::span<uint8_t>> buffers_;
  size_t index_ = 0;
  uint64_t offset_ = 0;
  uint64_t written_ = 0;
};

}  // namespace vessel::devices::virtio
