// Legacy data-transfer and check instructions (SDM Vol. 2 XLAT/XLATB, BOUND, SALC): XLAT is
// valid in every mode; BOUND and SALC are invalid in 64-bit mode, where the decoder already
// turns their opcodes into #UD.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

// AL = [seg:rBX + AL], rBX at the address size; DS unless overridden.
void XLAT(Cpu& c, const DecodedInst& in) {
  const int seg = in.seg_override != x86::kNoReg ? int{in.seg_override} : int{kDs};
  const uint64_t off = (c.st.gpr[kRbx] + (c.st.gpr[kRax] & 0xff)) & size_mask(in.addrsize);
  set_gpr(c, kRax, 1, c.read(seg, off, 1));
}

// BOUND r16/32, m16&16/m32&32: #BR when the signed index is below the lower bound or above
// the upper one (both read before the check, so a fault on either comes first).
void BOUND(Cpu& c, const DecodedInst& in) {
  const Operand& m = in.ops[1];
  if (m.kind != OpKind::kMem) raise(vec::kUD);
  const unsigned size = in.ops[0].size;
  const uint64_t ea = effective_address(c, in, m);
  const int64_t lower = sign_extend(c.read(m.seg, ea, size), size);
  const int64_t upper =
      sign_extend(c.read(m.seg, (ea + size) & size_mask(in.addrsize), size), size);
  const int64_t index = sign_extend(get_gpr(c, in.ops[0].reg, size), size);
  if (index < lower || index > upper) raise(vec::kBR);
}

// SALC (D6, undocumented by Intel but executed by every x86 CPU outside 64-bit mode):
// AL = CF ? FFh : 00h, no flags changed.
void SALC(Cpu& c, const DecodedInst&) {
  set_gpr(c, kRax, 1, (c.st.rflags & rflags::kCF) ? 0xff : 0);
}

}  // namespace

void register_legacy(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_XLAT] = XLAT;
  t[ZYDIS_MNEMONIC_BOUND] = BOUND;
  t[ZYDIS_MNEMONIC_SALC] = SALC;
}

}  // namespace vessel::engine::emu::interp
