// Mapping: owns one mmap'ed range and unmaps it once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "base/result.hpp"

namespace vessel {

class Mapping {
 public:
  Mapping() = default;
  // Anonymous, private, zero-filled memory; pages are only committed when touched.
  static Result<Mapping> anonymous(size_t size);
  // A shared mapping of `size` bytes of the file `fd` from `offset` (for file-backed memory).
  static Result<Mapping> of_file(int fd, size_t size, int prot, off_t offset = 0);

  Mapping(Mapping&& o) noexcept
      : addr_(std::exchange(o.addr_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  Mapping& operator=(Mapping&& o) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { reset(); }

  uint8_t* data() const { return static_cast<uint8_t*>(addr_); }
  size_t size() const { return size_; }

 private:
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  void reset();
  void* addr_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vessel
