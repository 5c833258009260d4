// Multiply and divide (SDM Vol. 1 §7.3.2; Vol. 2 MUL, IMUL, DIV, IDIV). Flags, including the
// ones the SDM leaves undefined, come from the host running the same instruction (alu_ops.hpp).
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

void mul_like(Cpu& c, const DecodedInst& in, bool is_signed) {
  const unsigned size = in.ops[0].size;
  const uint64_t src = read_op(c, in, 0);
  uint64_t fl = flags_in(c);
  if (size == 1) {
    const uint16_t ax = is_signed ? h_imul8(c.st.gpr[kRax] & 0xff, static_cast<uint8_t>(src), fl)
                                  : h_mul8(c.st.gpr[kRax] & 0xff, static_cast<uint8_t>(src), fl);
    set_gpr(c, kRax, 2, ax);
  } else {
    uint64_t lo = c.st.gpr[kRax], hi = 0;
    auto run = [&]<class T>(T) {
      T l = static_cast<T>(lo), h = 0;
      if (is_signed)
        h_imul1<T>(l, h, static_cast<T>(src), fl);
      else
        h_mul<T>(l, h, static_cast<T>(src), fl);
      lo = l;
      hi = h;
    };
    with_width<false>(size, run);  // the byte forms use AX: handled above
    set_gpr(c, kRax, size, lo);
    set_gpr(c, kRdx, size, hi);
  }
  flags_out(c, fl);
}

void MUL(Cpu& c, const DecodedInst& in) {
  mul_like(c, in, false);
}

void IMUL(Cpu& c, const DecodedInst& in) {
  if (in.num_operands == 1) return mul_like(c, in, true);
  const unsigned size = in.ops[0].size;
  const uint64_t a = read_op_sized(c, in, in.num_operands == 3 ? 1 : 0, size);
  const uint64_t b = read_op_sized(c, in, in.num_operands == 3 ? 2 : 1, size);
  uint64_t fl = flags_in(c);
  const uint64_t r = fresh_flags_ok() ? VESSEL_SIZED_W(size, f_imul2, a, b, fl)
                                      : VESSEL_SIZED_W(size, h_imul2, a, b, fl);
  set_gpr(c, in.ops[0].reg, size, r);
  flags_out(c, fl);
}

// DIV/IDIV (SDM Vol. 2A): #DE for a zero divisor or a quotient that does not fit.
void div_like(Cpu& c, const DecodedInst& in, bool is_signed) {
  const unsigned size = in.ops[0].size;
  const uint64_t d = read_op(c, in, 0);
  if (d == 0) raise(vec::kDE);
  const unsigned bits = 8 * size;
  __extension__ typedef unsigned __int128 u128;
  __extension__ typedef __int128 i128;
  u128 dividend;
  if (size == 1)
    dividend = c.st.gpr[kRax] & 0xffff;
  else
    dividend = (u128(get_gpr(c, kRdx, size)) << bits) | get_gpr(c, kRax, size);
  uint64_t q, r;
  if (!is_signed) {
    const u128 qq = dividend / d;
    if (qq > size_mask(size)) raise(vec::kDE);
    q = static_cast<uint64_t>(qq);
    r = static_cast<uint64_t>(dividend % d);
  } else {
    // Sign-extend the 2*bits dividend to 128 bits.
    const unsigned shift = 128 - 2 * bits;
    const i128 sd = static_cast<i128>(dividend << shift) >> shift;
    const i128 sv = sign_extend(d, size);
    const i128 qq = sd / sv;
    const i128 lim = i128(1) << (bits - 1);
    if (qq >= lim || qq < -lim) raise(vec::kDE);
    q = static_cast<uint64_t>(qq) & size_mask(size);
    r = static_cast<uint64_t>(sd % sv) & size_mask(size);
  }
  // Flags are undefined: take the host's for the same (valid) division.
  uint64_t fl = flags_in(c);
  if (size == 1) {
    uint16_t lo = static_cast<uint16_t>(dividend), hi = 0, dv = static_cast<uint16_t>(d);
    if (is_signed) {
      lo = static_cast<uint16_t>(sign_extend(dividend & 0xffff, 2));
      hi = (lo & 0x8000) ? 0xffff : 0;
      dv = static_cast<uint16_t>(sign_extend(d, 1));
      h_idiv<uint16_t>(lo, hi, dv, fl);
    } else {
      h_div<uint16_t>(lo, hi, dv, fl);
    }
    set_gpr(c, kRax, 2, (r << 8) | q);
  } else {
    auto run = [&]<class T>(T) {
      T lo = static_cast<T>(get_gpr(c, kRax, size)), hi = static_cast<T>(get_gpr(c, kRdx, size));
      if (is_signed)
        h_idiv<T>(lo, hi, static_cast<T>(d), fl);
      else
        h_div<T>(lo, hi, static_cast<T>(d), fl);
    };
    with_width<false>(size, run);  // the byte forms use AX: handled above
    set_gpr(c, kRax, size, q);
    set_gpr(c, kRdx, size, r);
  }
  flags_out(c, fl);
}
void DIV(Cpu& c, const DecodedInst& in) {
  div_like(c, in, false);
}
void IDIV(Cpu& c, const DecodedInst& in) {
  div_like(c, in, true);
}
}  // namespace

void register_muldiv(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_MUL] = MUL;
  t[ZYDIS_MNEMONIC_IMUL] = IMUL;
  t[ZYDIS_MNEMONIC_DIV] = DIV;
  t[ZYDIS_MNEMONIC_IDIV] = IDIV;
}

}  // namespace vessel::engine::emu::interp
