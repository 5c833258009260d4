// Shifts and rotates (SDM Vol. 1 §7.3.6-7.3.7; Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR,
// SHLD, SHRD). The host executes the operation, so masked counts, the count-0 "flags
// unchanged" rule and the undefined OF for counts > 1 all match the host CPU.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

template <int kKind>  // 0 shl, 1 shr, 2 sar, 3 rol, 4 ror, 5 rcl, 6 rcr
void shift(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint8_t count = static_cast<uint8_t>(read_op_sized(c, in, 1, 1));
  const uint64_t fin = flags_in(c);
  uint64_t fo = fin;
  // Without RCL/RCR (they read CF) and with a count that is not 0 after masking (count 0
  // leaves the flags alone), the host's flags do not depend on fin: skip the POPFQ.
  const bool fresh = kKind < 5 && fresh_flags_ok() && (count & (size == 8 ? 63 : 31)) != 0;
  if (fresh) {
    rmw(c, in, [&](uint64_t v) -> uint64_t {
      switch (kKind) {
        case 0:
          return VESSEL_SIZED(size, f_shl, v, count, fo);
        case 1:
          return VESSEL_SIZED(size, f_shr, v, count, fo);
        case 2:
          return VESSEL_SIZED(size, f_sar, v, count, fo);
        case 3:
          return VESSEL_SIZED(size, f_rol, v, count, fo);
        default:
          return VESSEL_SIZED(size, f_ror, v, count, fo);
      }
    });
    // Rotates write only CF and OF (SDM Vol. 2B RCL/RCR/ROL/ROR).
    flags_out(c, fo, kKind >= 3 ? rflags::kCF | rflags::kOF : kArithFlags);
    return;
  }
  rmw(c, in, [&](uint64_t v) -> uint64_t {
    fo = fin;
    switch (kKind) {
      case 0:
        return VESSEL_SIZED(size, h_shl, v, count, fo);
      case 1:
        return VESSEL_SIZED(size, h_shr, v, count, fo);
      case 2:
        return VESSEL_SIZED(size, h_sar, v, count, fo);
      case 3:
        return VESSEL_SIZED(size, h_rol, v, count, fo);
      case 4:
        return VESSEL_SIZED(size, h_ror, v, count, fo);
      case 5:
        return VESSEL_SIZED(size, h_rcl, v, count, fo);
      default:
        return VESSEL_SIZED(size, h_rcr, v, count, fo);
    }
  });
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
    if (kLeft) return VESSEL_SIZED_W(size, h_shld, v, src, count, fo);
    return VESSEL_SIZED_W(size, h_shrd, v, src, count, fo);
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
