// CodeCache: one executable buffer per vCPU holding translated blocks, filled front to back
// and flushed whole when full. A translation is valid while the cache generation it was made
// in is current, so a flush needs no walk over the blocks that point into it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace vessel::engine::emu::jit {

class CodeCache {
 public:
  // 64 MiB of address space; pages are only backed by the host when code is written there.
  static constexpr size_t kSize = 64u << 20;

  CodeCache();
  ~CodeCache();
  CodeCache(const CodeCache&) = delete;
  CodeCache& operator=(const CodeCache&) = delete;

  bool ok() const { return base_ != nullptr; }
  uint8_t* free_ptr() const { return base_ + used_; }
  size_t free_bytes() const { return kSize - used_; }
  // Marks `n` bytes after free_ptr() as used (the translation just emitted there).
  void commit(size_t n) { used_ = std::min(kSize, used_ + ((n + 15) & ~size_t{15})); }
  // Drops every translation. Only at a block boundary: no translated code may be running.
  void flush();
  uint64_t generation() const { return generation_; }
  uint64_t flushes() const { return generation_ - 1; }

 private:
  uint8_t* base_ = nullptr;
  size_t used_ = 0;
  uint64_t generation_ = 1;
};

}  // namespace vessel::engine::emu::jit
