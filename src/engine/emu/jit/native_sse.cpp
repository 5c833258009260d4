// MOVAPS/MOVAPD/MOVDQA/MOVNTPS/MOVNTPD/MOVNTDQ (16-byte aligned memory) and
// MOVUPS/MOVUPD/MOVDQU (SDM Vol. 2): 128 bits between XMM registers (in CpuState) and
// memory, as two 8-byte accesses in one page, in 64-bit code. The handler takes what needs
// checks it makes: SSE not usable (CR0.EM/TS, CR4.OSFXSR: #UD/#NM), a misaligned operand of
// an aligned form (#GP), an unaligned one crossing a page (faults as a whole there), and
// FS/GS operands (their base enters the alignment).
#include <Zydis/Mnemonic.h>

#include "engine/emu/jit/native_forms.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using x86::OpKind;
using Xbyak::CodeGenerator;

namespace {

int32_t xmm_at(const Emitter& e, unsigned reg, unsigned half) {
  return state_offset(
      e, offsetof(arch::CpuState, fpu) + offsetof(arch::FpuState, xmm) + 16 * reg + 8 * half);
}

bool move128(Emitter& e, const x86::DecodedInst& in, bool aligned) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  const bool load = d.kind == OpKind::kXmm && s.kind == OpKind::kMem;
  const bool store = d.kind == OpKind::kMem && s.kind == OpKind::kXmm;
  const bool regs = d.kind == OpKind::kXmm && s.kind == OpKind::kXmm;
  const auto xmm_ok = [](const x86::Operand& op) { return op.kind != OpKind::kXmm || op.reg < 16; };
  if (e.mode != x86::CodeMode::k64 || !(load || store || regs) || !xmm_ok(d) || !xmm_ok(s))
    return false;
  const x86::Operand& m = load ? s : d;
  if ((load || store) && (m.seg == arch::kFs || m.seg == arch::kGs || m.size != 16)) return false;
  e.clobber_flags();
  Xbyak::Label rare, done;
  e.test(e.dword[rbx + state_offset(e, offsetof(arch::CpuState, cr0))],
         static_cast<int>(arch::cr0::kEM | arch::cr0::kTS));
  e.jnz(rare, CodeGenerator::T_NEAR);
  e.test(e.dword[rbx + state_offset(e, offsetof(arch::CpuState, cr4))],
         static_cast<int>(arch::cr4::kOSFXSR));
  e.jz(rare, CodeGenerator::T_NEAR);
  if (regs) {
    for (unsigned half = 0; half < 2; ++half) {
      e.mov(rax, e.qword[rbx + xmm_at(e, s.reg, half)]);
      e.mov(e.qword[rbx + xmm_at(e, d.reg, half)], rax);
    }
  } else {
    e.effective_address(m, in.addrsize);
    if (aligned) {
      e.test(r13d, 15);
      e.jnz(rare, CodeGenerator::T_NEAR);
    } else {
      e.mov(eax, r13d);
      e.and_(eax, 0xfff);
      e.cmp(eax, 0xff0);
      e.ja(rare, CodeGenerator::T_NEAR);
    }
    // Both halves in one page: the second access cannot fault once the first has not, so
    // nothing is half done.
    if (load) {
      e.load_mem(m.seg, 8);
      e.mov(r14, rax);
      e.add(r13, 8);
      e.load_mem(m.seg, 8);
      e.mov(e.qword[rbx + xmm_at(e, d.reg, 0)], r14);
      e.mov(e.qword[rbx + xmm_at(e, d.reg, 1)], rax);
    } else {
      e.mov(r14, e.qword[rbx + xmm_at(e, s.reg, 0)]);
      e.store_mem(m.seg, 8);
      e.add(r13, 8);
      e.mov(r14, e.qword[rbx + xmm_at(e, s.reg, 1)]);
      e.store_mem(m.seg, 8);
    }
  }
  const uint16_t dirty = e.dirty;
  e.jmp(done, CodeGenerator::T_NEAR);
  e.L(rare);
  emit_rare_call(e, in);
  e.L(done);
  e.dirty = dirty;
  return true;
}

}  // namespace

bool emit_sse_move(Emitter& e, const x86::DecodedInst& in) {
  switch (in.op) {
    case ZYDIS_MNEMONIC_MOVAPS:
    case ZYDIS_MNEMONIC_MOVAPD:
    case ZYDIS_MNEMONIC_MOVDQA:
    case ZYDIS_MNEMONIC_MOVNTPS:
    case ZYDIS_MNEMONIC_MOVNTPD:
    case ZYDIS_MNEMONIC_MOVNTDQ:
      return move128(e, in, true);
    case ZYDIS_MNEMONIC_MOVUPS:
    case ZYDIS_MNEMONIC_MOVUPD:
    case ZYDIS_MNEMONIC_MOVDQU:
      return move128(e, in, false);
    default:
      return false;
  }
}

}  // namespace vessel::engine::emu::jit
