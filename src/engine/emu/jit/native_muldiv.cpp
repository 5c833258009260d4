// DIV/IDIV r/m16/32/64 (SDM Vol. 2A DIV, IDIV) with the host's own division where it cannot
// fault: a divisor that is not 0 and a quotient that fits (DIV: the dividend's high half
// below the divisor; IDIV: a high half that is the sign extension of the low half, and not
// MIN / -1). Anything else is the handler's (it raises #DE, or divides a wide IDIV dividend).
// The flags are undefined: as in the interpreter, the host's after the same division run on
// the guest's flags. The byte forms (AX) stay with the handler.
#include <Zydis/Mnemonic.h>

#include "engine/emu/jit/native_forms.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using x86::OpKind;
using Xbyak::CodeGenerator;

namespace {

bool divide(Emitter& e, const x86::DecodedInst& in, bool is_signed) {
  const x86::Operand& s = in.ops[0];
  if (in.num_operands != 1 || !is_rm(s) || s.size < 2) return false;
  const unsigned size = s.size;
  e.materialize();  // the host division and the rare handler both start from st.rflags
  if (s.kind == OpKind::kMem) {
    e.effective_address(s, in.addrsize);
    e.load_mem(s.seg, size);
    e.mov(rcx, rax);
  } else {
    e.load_gpr(rcx, s.reg);
  }
  e.load_gpr(rax, arch::kRax);
  e.load_gpr(rdx, arch::kRdx);
  const Xbyak::Reg d = sized_reg(rcx, size), hi = sized_reg(rdx, size), t = sized_reg(rsi, size);
  Xbyak::Label rare, fast, done;
  e.test(d, d);
  e.jz(rare, CodeGenerator::T_NEAR);
  if (!is_signed) {
    e.cmp(hi, d);
    e.jae(rare, CodeGenerator::T_NEAR);
  } else {
    e.mov(rsi, rax);
    e.sar(t, static_cast<int>(8 * size - 1));
    e.cmp(t, hi);
    e.jne(rare, CodeGenerator::T_NEAR);
    e.cmp(d, -1);
    e.jne(fast, CodeGenerator::T_NEAR);
    e.mov(rsi, rax);
    e.neg(t);  // overflows for MIN only
    e.jo(rare, CodeGenerator::T_NEAR);
  }
  e.L(fast);
  const uint16_t dirty_before = e.dirty;
  e.guest_flags_to_host();  // uses rax
  e.load_gpr(rax, arch::kRax);
  is_signed ? e.idiv(d) : e.div(d);
  e.pushfq();
  e.pop(r15);
  e.store_gpr(arch::kRax, size, rax);
  e.store_gpr(arch::kRdx, size, rdx);
  const uint16_t dirty_after = e.dirty;
  e.jmp(done, CodeGenerator::T_NEAR);
  e.L(rare);
  e.dirty = dirty_before;
  e.host_flags = 0;
  emit_rare_call(e, in);  // r15 = st.rflags, with the handler's flags
  e.L(done);
  // Both ways: the flags in r15, the results in CpuState or the cached registers.
  e.dirty = dirty_after;
  e.host_flags = e.unsaved_flags = 0;
  e.saved_flags = kArithFlags;
  return true;
}

}  // namespace

bool emit_muldiv(Emitter& e, const x86::DecodedInst& in) {
  switch (in.op) {
    case ZYDIS_MNEMONIC_DIV:
      return divide(e, in, false);
    case ZYDIS_MNEMONIC_IDIV:
      return divide(e, in, true);
    default:
      return false;
  }
}

}  // namespace vessel::engine::emu::jit
