// Bulk REP MOVS / REP STOS (see string_bulk.hpp). Linux clears and copies pages with REP
// STOSQ / MOVSQ (clear_page, copy_page, memset, memcpy): a boot spends ~4 % of its host time
// there when every element goes through the segment, TLB and write paths on its own.
#include "engine/emu/interp/string_bulk.hpp"

#include <algorithm>
#include <cstring>

#include "base/all_zero.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

bool canonical(uint64_t la) {
  const uint64_t hi = la >> 47;
  return hi == 0 || hi == 0x1ffff;
}

// The segment base linear addresses start from: in 64-bit mode only FS and GS have one.
uint64_t segment_base(const Cpu& c, int seg) {
  if (c.mode64() && seg != kFs && seg != kGs) return 0;
  return c.st.seg[seg].base;
}

// The linear address of `bytes` bytes at offset `lo` of `seg` when none of them can fault on
// segmentation (limit, type, canonical form) or wrap; the cases left to the per-element path
// (real and virtual-8086 mode, expand-down segments) return false.
bool linear_range(const Cpu& c, int seg, uint64_t lo, uint64_t bytes, Access acc, uint64_t& la) {
  const Segment& s = c.st.seg[seg];
  if (c.mode64()) {
    la = segment_base(c, seg) + lo;
    return la + bytes - 1 >= la && canonical(la) && canonical(la + bytes - 1);
  }
  if (!c.protected_mode() || (c.st.rflags & rflags::kVM)) return false;
  if (s.unusable || !s.present) return false;
  const bool code = s.type & 8;
  if (acc == Access::kWrite && (code || !(s.type & 2))) return false;
  if (acc == Access::kRead && code && !(s.type & 2)) return false;
  if (!code && (s.type & 4)) return false;
  if (lo + bytes - 1 > s.limit) return false;
  la = s.base + lo;
  return la + bytes - 1 <= 0xffffffffull;
}

// The next elements of a string operand within one page: `first` is the host address of the
// element at the register's offset, `n` how many follow it in the direction of DF (itself
// included) without leaving the page or wrapping the address size.
struct Run {
  uint8_t* first = nullptr;
  uint64_t n = 0;
};

Run page_run(const Cpu& c, int seg, uint64_t off, unsigned size, bool down, uint64_t amask,
             uint64_t max, Access acc) {
  const uint64_t in_page = (segment_base(c, seg) + off) & 0xfff;
  const uint64_t room = amask - off;  // bytes after the first one before the address wraps
  if (room < size - 1 || in_page + size > 4096) return {};
  const uint64_t n =
      std::min(max, down ? std::min(in_page, off) / size + 1
                         : std::min((4096 - in_page) / size, (room - (size - 1)) / size + 1));
  const uint64_t lo = down ? off - (n - 1) * size : off;
  uint64_t la;
  if (!linear_range(c, seg, lo, n * size, acc, la)) return {};
  uint8_t* low = c.fast_host(la, acc, c.cpl() == 3);
  if (!low) return {};
  return {down ? low + (n - 1) * size : low, n};
}

void advance(Cpu& c, int reg, const DecodedInst& in, uint64_t n, unsigned size, bool down) {
  const uint64_t bytes = n * size;
  const uint64_t v = down ? c.st.gpr[reg] - bytes : c.st.gpr[reg] + bytes;
  set_gpr(c, static_cast<uint8_t>(reg), in.addrsize, v & size_mask(in.addrsize));
}

template <class T>
void fill(uint8_t* p, uint64_t n, T v) {
  for (uint64_t i = 0; i < n; ++i) std::memcpy(p + i * sizeof(T), &v, sizeof(T));
}

// n elements of `size` bytes at p = value. Every element holds the same value, so the
// direction does not matter; a value of one repeated byte (clear_page's zeros) is a memset
// whatever the element size. Zeros onto what is zero already (a guest clearing its .bss or a
// fresh page) are not written: an untouched page of guest RAM then stays the host's shared
// zero page, out of the VMM's resident set, and reading it costs less than the fault a write
// would take.
void fill_run(uint8_t* p, uint64_t n, unsigned size, uint64_t value) {
  const uint64_t v = value & size_mask(size);
  const uint64_t bytes = n * size;
  if (v == 0 && bytes >= 512 && all_zero(std::span<const uint8_t>(p, bytes))) return;
  if (v == (value & 0xff) * (size_mask(size) / 0xff))
    std::memset(p, static_cast<int>(value & 0xff), bytes);
  else if (size == 2)  // size 1 is always the memset
    fill(p, n, static_cast<uint16_t>(value));
  else if (size == 4)
    fill(p, n, static_cast<uint32_t>(value));
  else
    fill(p, n, value);
}

}  // namespace

uint64_t stos_bulk(Cpu& c, const DecodedInst& in, unsigned size, uint64_t value, uint64_t max) {
  const bool down = c.st.rflags & rflags::kDF;
  const uint64_t amask = size_mask(in.addrsize);
  const Run d = page_run(c, kEs, c.st.gpr[kRdi] & amask, size, down, amask, max, Access::kWrite);
  if (d.n == 0) return 0;
  uint8_t* low = down ? d.first - (d.n - 1) * size : d.first;
  fill_run(low, d.n, size, value);
  advance(c, kRdi, in, d.n, size, down);
  return d.n;
}

uint64_t movs_bulk(Cpu& c, const DecodedInst& in, int src_seg, unsigned size, uint64_t max) {
  const bool down = c.st.rflags & rflags::kDF;
  const uint64_t amask = size_mask(in.addrsize);
  const Run s = page_run(c, src_seg, c.st.gpr[kRsi] & amask, size, down, amask, max, Access::kRead);
  if (s.n == 0) return 0;
  const Run d = page_run(c, kEs, c.st.gpr[kRdi] & amask, size, down, amask, s.n, Access::kWrite);
  if (d.n == 0) return 0;
  uint64_t n = d.n;
  // One element at a time, a store reaches a later element's source when the destination is
  // ahead of the source (in the direction of DF) by less than the run: then the run is cut to
  // the distance, within which no store reaches a load, and the next run reads what it wrote.
  const auto src = reinterpret_cast<uintptr_t>(s.first), dst = reinterpret_cast<uintptr_t>(d.first);
  const uintptr_t ahead = down ? src - dst : dst - src;
  if ((down ? dst < src : dst > src) && ahead < n * size) {
    n = ahead / size;
    if (n == 0) return 0;
  }
  const uint64_t back = down ? (n - 1) * size : 0;
  std::memmove(d.first - back, s.first - back, n * size);
  advance(c, kRsi, in, n, size, down);
  advance(c, kRdi, in, n, size, down);
  return n;
}

}  // namespace vessel::engine::emu::interp
