#include "engine/emu/jit/code_cache.hpp"

#include <sys/mman.h>

namespace vessel::engine::emu::jit {

CodeCache::CodeCache() {
  void* p = mmap(nullptr, kSize, PROT_READ | PROT_WRITE | PROT_EXEC,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p != MAP_FAILED) base_ = static_cast<uint8_t*>(p);
}

CodeCache::~CodeCache() {
  if (base_) munmap(base_, kSize);
}

void CodeCache::flush() {
  used_ = 0;
  ++generation_;
  // Give the pages back: a flushed cache should not keep the peak RSS.
  madvise(base_, kSize, MADV_DONTNEED);
}

}  // namespace vessel::engine::emu::jit
