// Shifts and rotates (SDM Vol. 1 §7.3.6-7.3.7; Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR,
// SHLD, SHRD). The host executes the operation, so masked counts, the count-0 "flags
// unchanged" rule and the undefined OF for counts > 1 all match the host CPU.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

// The host instruction of kind kKind (0 shl, 1 shr, 2 sar, 3 rol, 4 ror, 5 rcl, 6 rcr) at
// width T: with kFresh, the form that does not load the flags first (not for RCL/RCR, which
// read CF).
template <int kKind, bool kFresh, class T>
T shift_op(T v, uint8_t count, uint64_t& fo) {
  if constexpr (kFresh) {
    static_assert(kKind < 5);
    if constexpr (kKind == 0) return f_shl(v, count, fo);
    if constexpr (kKind == 1) return f_shr(v, count, fo);
    if constexpr (kKind == 2) return f_sar(v, count, fo);
    if constexpr (kKind == 3) return f_rol(v, count, fo);
    if constexpr (kKind == 4) return f_ror(v, count, fo);
  } else {
    if constexpr (kKind == 0) return h_shl(v, count, fo);
    if constexpr (kKind == 1) return h_shr(v, count, fo);
    if constexpr (kKind == 2) return h_sar(v, count, fo);
    if constexpr (kKind == 3) return h_rol(v, count, fo);
    if constexpr (kKind == 4) return h_ror(v, count, fo);
    if constexpr (kKind == 5) return h_rcl(v, count, fo);
    if constexpr (kKind == 6) return h_rcr(v, count, fo);
  }
}

template <int kKind>
void shift(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint8_t count = static_cast<uint8_t>(read_op_sized(c, in, 1, 1));
  const uint64_t fin = flags_in(c);
  uint64_t fo = fin;
  // Without RCL/RCR (they read CF) and with a count that is not 0 after masking (count 0
  // leaves the flags alone), the host's flags do not depend on fin: skip the POPFQ.
  const bool fresh = kKind < 5 && fresh_flags_ok() && (count & (size == 8 ? 63 : 31)) != 0;
  rmw(c, in, [&](uint64_t v) -> uint64_t {
    fo = fin;
    return with_width(size, [&](auto t) -> uint64_t {
      using T = decltype(t);
      if constexpr (kKind < 5)
        if (fresh) return shift_op<kKind, true>(static_cast<T>(v), count, fo);
      return shift_op<kKind, false>(static_cast<T>(v), count, fo);
    });
  });
  // Rotates write only CF and OF (SDM Vol. 2B RCL/RCR/ROL/ROR); the fresh forms' other flags
  // are the host's, not the guest's.
  if (fresh)
    flags_out(c, fo, kKind >= 3 ? rflags::kCF | rflags::kOF : kArithFlags);
  else
    flags_out(c, fo);
}

template <bool kLeft>
void shift_double(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint64_t src = get_gpr(c, in.ops[1].reg, size);
  const uint8_t count = static_cast<uint8_t>(read_op_sized(c, in, 2, 1));
  const uint64_t fin = flags_in(c);
  uint64_t fo = fin;
  rmw(c, in, [&](uint64_t v) -> uint64_t {
    fo = fin;
    return with_width<false>(size, [&](auto t) -> uint64_t {  // no byte form
      using T = decltype(t);
      if constexpr (kLeft) return h_shld(static_cast<T>(v), static_cast<T>(src), count, fo);
      return h_shrd(static_cast<T>(v), static_cast<T>(src), count, fo);
    });
  });
  flags_out(c, fo);
}

}  // namespace

void register_shift(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_SHL] = shift<0>;
  t[ZYDIS_MNEMONIC_SHR] = shift<1>;
  t[ZYDIS_MNEMONIC_SAR] = shift<2>;
  t[ZYDIS_MNEMONIC_ROL] = shift<3>;
  t[ZYDIS_MNEMONIC_ROR] = shift<4>;
  t[ZYDIS_MNEMONIC_RCL] = shift<5>;
  t[ZYDIS_MNEMONIC_RCR] = shift<6>;
  t[ZYDIS_MNEMONIC_SHLD] = shift_double<true>;
  t[ZYDIS_MNEMONIC_SHRD] = shift_double<false>;
}

}  // namespace vessel::engine::emu::interp
