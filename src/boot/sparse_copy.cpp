#include "boot/sparse_copy.hpp"

#include <algorithm>
#include <cstring>

#include "base/all_zero.hpp"

namespace vessel::boot {

void copy_sparse(std::span<uint8_t> dst, std::span<const uint8_t> src) {
  constexpr uint64_t kPage = 4096;
  size_t at = 0;
  while (at < dst.size()) {
    const auto addr = reinterpret_cast<uintptr_t>(dst.data() + at);
    const size_t n = std::min<size_t>(kPage - (addr & (kPage - 1)), dst.size() - at);
    // The part of this stretch the source covers; the rest is zero (.bss).
    const size_t from_src = at < src.size() ? std::min(n, src.size() - at) : 0;
    const bool zero = from_src == 0 || all_zero(src.subspan(at, from_src));
    // Reading an untouched page maps the shared zero page: it costs no memory.
    if (!zero || !all_zero(dst.subspan(at, n))) {
      if (from_src) std::memcpy(dst.data() + at, src.data() + at, from_src);
      std::memset(dst.data() + at + from_src, 0, n - from_src);
    }
    at += n;
  }
}

}  // namespace vessel::boot
