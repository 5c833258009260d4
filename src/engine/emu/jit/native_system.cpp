// System and odd-sized forms that are simple in translated code: CLI/STI in 64-bit code at
// CPL 0 (checked at run time: the handler raises #GP above IOPL), PUSHFQ, MOV r/m, Sreg,
// CBW/CWDE/CDQE and CWD/CDQ/CQO, and the prefetch and hint NOPs (ENDBR, PAUSE; a prefetch
// accesses nothing, so it never faults) (SDM Vol. 2 instruction pages).
#include <Zydis/Mnemonic.h>

#include "engine/emu/jit/native_forms.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using x86::OpKind;
using Xbyak::CodeGenerator;

namespace {

int32_t selector_at(const Emitter& e, unsigned seg) {
  return state_offset(e, offsetof(arch::CpuState, seg) + seg * sizeof(arch::Segment) +
                             offsetof(arch::Segment, selector));
}

// CLI/STI: the run-time CPL check, then `fast` (CPL 0 <= IOPL), else the handler.
bool cli_sti(Emitter& e, const x86::DecodedInst& in, bool sti) {
  if (e.mode != x86::CodeMode::k64 || e.user) return false;
  constexpr int kIF = 1 << 9;
  e.clobber_flags();
  Xbyak::Label rare, done;
  e.test(e.byte[rbx + selector_at(e, arch::kCs)], 3);
  e.jnz(rare, CodeGenerator::T_NEAR);
  if (!sti) {
    e.and_(e.dword[rbx + e.lay.rflags], ~kIF);
  } else {
    // STI blocks interrupts for one instruction when it sets IF, and ends the block so that
    // the run loop sees the shadow and the new IF (as the handler's end_block does).
    Xbyak::Label was_set;
    e.test(e.dword[rbx + e.lay.rflags], kIF);
    e.jnz(was_set);
    e.mov(e.byte[rbx + state_offset(e, offsetof(arch::CpuState, events) +
                                           offsetof(arch::PendingEvents, interrupt_shadow))],
          1);
    e.or_(e.dword[rbx + e.lay.rflags], kIF);
    e.L(was_set);
    e.mov(e.byte[rbx + e.lay.end_block], 1);
  }
  e.jmp(done, CodeGenerator::T_NEAR);
  e.L(rare);
  emit_rare_call(e, in);
  e.L(done);
  if (sti) {
    e.jmp_exit(e.exit(kLeft, e.index + 1, e.pending + e.length));
    e.sets_rip = e.ended = true;
  }
  return true;
}

// PUSHFQ: st.rflags with the live flags merged, RF and VM cleared in the image.
bool pushfq(Emitter& e, const x86::DecodedInst& in) {
  if (e.mode != x86::CodeMode::k64 || in.opsize != 8) return false;
  e.materialize();
  e.mov(r14, e.field64(e.lay.rflags));
  e.and_(r14, ~static_cast<int>(arch::rflags::kVM | arch::rflags::kRF));
  e.load_gpr(r13, arch::kRsp);
  e.lea(r13, ptr[r13 - 8]);
  e.store_mem(arch::kSs, 8);
  e.store_gpr(arch::kRsp, 8, r13);
  return true;
}

// MOV r/m, Sreg: the selector, zero-extended into a register, 16 bits to memory.
bool mov_from_sreg(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  if (s.kind != OpKind::kSeg || s.reg > arch::kGs || !is_rm(d)) return false;
  if (d.kind == OpKind::kMem) e.effective_address(d, in.addrsize);
  e.movzx(r14d, e.word[rbx + selector_at(e, s.reg)]);
  if (d.kind == OpKind::kGpr)
    e.store_gpr(d.reg, d.size, r14);
  else
    e.store_mem(d.seg, 2);
  return true;
}

// CBW/CWDE/CDQE and CWD/CDQ/CQO by operand size, with the host's own (flagless) forms.
bool widen(Emitter& e, const x86::DecodedInst& in, bool into_rdx) {
  const unsigned size = in.opsize;
  e.load_gpr(rax, arch::kRax);
  if (!into_rdx) {
    size == 2 ? e.cbw() : size == 4 ? e.cwde() : e.cdqe();
    e.store_gpr(arch::kRax, size, rax);
  } else {
    size == 2 ? e.cwd() : size == 4 ? e.cdq() : e.cqo();
    e.store_gpr(arch::kRdx, size, rdx);
  }
  return true;
}

}  // namespace

bool emit_system(Emitter& e, const x86::DecodedInst& in) {
  switch (in.op) {
    case ZYDIS_MNEMONIC_CLI:
      return cli_sti(e, in, false);
    case ZYDIS_MNEMONIC_STI:
      return cli_sti(e, in, true);
    case ZYDIS_MNEMONIC_PUSHFQ:
      return pushfq(e, in);
    case ZYDIS_MNEMONIC_MOV:
      return mov_from_sreg(e, in);
    case ZYDIS_MNEMONIC_CBW:
    case ZYDIS_MNEMONIC_CWDE:
    case ZYDIS_MNEMONIC_CDQE:
      return widen(e, in, false);
    case ZYDIS_MNEMONIC_CWD:
    case ZYDIS_MNEMONIC_CDQ:
    case ZYDIS_MNEMONIC_CQO:
      return widen(e, in, true);
    case ZYDIS_MNEMONIC_PREFETCH:
    case ZYDIS_MNEMONIC_PREFETCHW:
    case ZYDIS_MNEMONIC_PREFETCHNTA:
    case ZYDIS_MNEMONIC_PREFETCHT0:
    case ZYDIS_MNEMONIC_PREFETCHT1:
    case ZYDIS_MNEMONIC_PREFETCHT2:
    case ZYDIS_MNEMONIC_ENDBR64:
    case ZYDIS_MNEMONIC_ENDBR32:
    case ZYDIS_MNEMONIC_PAUSE:
      return true;  // nothing to do but move RIP, which the translator accounts for
    default:
      return false;
  }
}

}  // namespace vessel::engine::emu::jit
