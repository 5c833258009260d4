// MemoryBackend: a BlockBackend over a byte vector (tests, fuzzing, device benchmarks).
#pragma once

#include <algorithm>
#include <cstring>
#include <vector>

#include "devices/virtio/blk/block_backend.hpp"

namespace vessel::devices::virtio {

class MemoryBackend final : public BlockBackend {
 public:
  explicit MemoryBackend(uint64_t size, bool read_only = false)
      : bytes_(size), read_only_(read_only) {}

  uint64_t size() const override { return bytes_.size(); }
  bool read_only() const override { return read_only_; }
  std::string id() const override { return "vessel-memory-disk"; }
  Result<void> read(uint64_t offset, Buffers buffers) override {
    for (auto b : buffers) {
      if (offset > bytes_.size() || b.size() > bytes_.size() - offset) return fail("past end");
      std::memcpy(b.data(), bytes_.data() + offset, b.size());
      offset += b.size();
    }
    return {};
  }
  Result<void> write(uint64_t offset, Buffers buffers) override {
    if (read_only_) return fail("read-only");
    for (auto b : buffers) {
      if (offset > bytes_.size() || b.size() > bytes_.size() - offset) return fail("past end");
      std::memcpy(bytes_.data() + offset, b.data(), b.size());
      offset += b.size();
    }
    return {};
  }
  Result<void> flush() override {
    ++flushes;
    return {};
  }
  Result<void> discard(uint64_t offset, uint64_t length) override {
    return write_zeroes(offset, length, true);
  }
  Result<void> write_zeroes(uint64_t offset, uint64_t length, bool) override {
    if (read_only_) return fail("read-only");
    if (offset > bytes_.size() || length > bytes_.size() - offset) return fail("past end");
    std::fill_n(bytes_.begin() + static_cast<ptrdiff_t>(offset), length, 0);
    return {};
  }

  std::vector<uint8_t>& bytes() { return bytes_; }
  unsigned flushes = 0;

 private:
  std::vector<uint8_t> bytes_;
  bool read_only_;
};

}  // namespace vessel::devices::virtio
