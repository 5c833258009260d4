// The start-up probe behind fresh_flags_ok() (alu_ops.hpp): runs each "fresh" host operation
// (no POPFQ before it) and its POPFQ form with all arithmetic flags clear and all set, over
// operands that hit the carry, overflow, sign, zero, parity and adjust edges at every width.
// The fresh forms are used only if every written flag comes out the same in all three: the
// SDM leaves AF (logic ops, shifts), OF (multi-bit shifts) and SF/ZF/AF/PF (IMUL) undefined,
// and on a host where one of them passed an input flag through, the POPFQ forms stay.
#include "engine/emu/interp/alu_ops.hpp"

namespace vessel::engine::emu::interp {
namespace {

constexpr uint64_t kCf = 0x1, kOf = 0x800;
constexpr uint64_t kOperands[] = {0,
                                  1,
                                  2,
                                  0x0f,
                                  0x10,
                                  0x7f,
                                  0x80,
                                  0xff,
                                  0x100,
                                  0x7fff,
                                  0x8000,
                                  0xffff,
                                  0x12345678,
                                  0x7fffffff,
                                  0x80000000,
                                  0xffffffff,
                                  0x8000000000000000ull,
                                  ~0ull,
                                  0x0123456789abcdefull,
                                  0x7fffffffffffffffull};
constexpr uint64_t kFlagsIn[] = {0x2, 0x2 | kArithFlags};

// F(fresh) and P(popf) must agree on the value and on `mask` for both input flag states.
template <class T, class Fresh, class Popf>
bool agree(Fresh fresh, Popf popf, uint64_t mask) {
  for (uint64_t a : kOperands)
    for (uint64_t b : kOperands)
      for (uint64_t fin : kFlagsIn) {
        uint64_t ff = 0, fp = fin;
        const T rf = fresh(static_cast<T>(a), static_cast<T>(b), ff);
        const T rp = popf(static_cast<T>(a), static_cast<T>(b), fp);
        if (rf != rp || ((ff ^ fp) & mask)) return false;
      }
  return true;
}

template <class T>
bool agree_width() {
  bool ok = true;
  ok &= agree<T>(f_add<T>, h_add<T>, kArithFlags);
  ok &= agree<T>(f_or<T>, h_or<T>, kArithFlags);
  ok &= agree<T>(f_and<T>, h_and<T>, kArithFlags);
  ok &= agree<T>(f_sub<T>, h_sub<T>, kArithFlags);
  ok &= agree<T>(f_xor<T>, h_xor<T>, kArithFlags);
  ok &= agree<T>([](T a, T, uint64_t& f) { return f_neg<T>(a, f); },
                 [](T a, T, uint64_t& f) { return h_neg<T>(a, f); }, kArithFlags);
  if constexpr (sizeof(T) > 1) ok &= agree<T>(f_imul2<T>, h_imul2<T>, kArithFlags);
  // Shifts by a count that is not 0 after masking (the caller handles 0: flags unchanged).
  const unsigned count_mask = sizeof(T) == 8 ? 63 : 31;
  auto shifted = [&](auto fresh, auto popf, uint64_t mask) {
    return agree<T>(
        [&](T a, T b, uint64_t& f) {
          const uint8_t n = static_cast<uint8_t>((b & count_mask) ? b : 1);
          return fresh(a, n, f);
        },
        [&](T a, T b, uint64_t& f) {
          const uint8_t n = static_cast<uint8_t>((b & count_mask) ? b : 1);
          return popf(a, n, f);
        },
        mask);
  };
  ok &= shifted(f_shl<T>, h_shl<T>, kArithFlags);
  ok &= shifted(f_shr<T>, h_shr<T>, kArithFlags);
  ok &= shifted(f_sar<T>, h_sar<T>, kArithFlags);
  ok &= shifted(f_rol<T>, h_rol<T>, kCf | kOf);
  ok &= shifted(f_ror<T>, h_ror<T>, kCf | kOf);
  return ok;
}

bool probe() {
  return agree_width<uint8_t>() && agree_width<uint16_t>() && agree_width<uint32_t>() &&
         agree_width<uint64_t>();
}

}  // namespace

const bool g_fresh_flags_ok = probe();

}  // namespace vessel::engine::emu::interp
