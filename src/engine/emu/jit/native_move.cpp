// Data movement without flags: MOV (GPR, memory, immediate forms), MOVZX/MOVSX/MOVSXD, LEA,
// 64-bit PUSH/POP, and NOP (its memory operand, in the multi-byte forms, is never accessed)
// (SDM Vol. 2 instruction pages).
#include <Zydis/Mnemonic.h>

#include "engine/emu/jit/native_forms.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using x86::OpKind;

namespace {

// rax = operand `op` (GPR, memory or immediate) zero-extended from `size` bytes... for a
// GPR only the low `size` bytes are meaningful (callers store at `size` or extend).
void load_operand(Emitter& e, const x86::DecodedInst& in, const x86::Operand& op, unsigned size) {
  if (op.kind == OpKind::kGpr) {
    e.load_gpr(rax, op.reg);
  } else if (op.kind == OpKind::kImm) {
    e.mov(rax, static_cast<uint64_t>(op.value));
  } else {
    e.effective_address(op, in.addrsize);
    e.load_mem(op.seg, size);
  }
}

bool mov(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  if (!is_rm(d) || !(is_rm(s) || s.kind == OpKind::kImm)) return false;
  if (s.kind == OpKind::kImm && d.kind == OpKind::kGpr && e.cached(d.reg)) {
    const Xbyak::Reg64 h = e.host_of(d.reg);  // the host's MOV imm has the guest's width rules
    const auto v = static_cast<uint64_t>(s.value);
    d.size == 8 ? e.mov(h, v)
                : e.mov(d.size == 4   ? Xbyak::Reg(h.cvt32())
                        : d.size == 2 ? Xbyak::Reg(h.cvt16())
                                      : Xbyak::Reg(h.cvt8()),
                        v & (~0ull >> (64 - 8 * d.size)));
    e.mark_dirty(d.reg);
    return true;
  }
  if (s.kind == OpKind::kMem && d.kind == OpKind::kGpr && e.cached(d.reg) && d.size >= 4) {
    e.effective_address(s, in.addrsize);
    e.load_mem_to(s.seg, d.size, e.host_of(d.reg));
    e.mark_dirty(d.reg);
    return true;
  }
  Xbyak::Reg64 src = rax;
  if (s.kind == OpKind::kGpr)
    src = e.gpr_source(s.reg, rax);  // a cached GPR is moved from its host register
  else
    load_operand(e, in, s, d.size);
  if (d.kind == OpKind::kGpr) {
    e.store_gpr(d.reg, d.size, src);
  } else {
    e.mov(r14, src);
    e.effective_address(d, in.addrsize);
    e.store_mem(d.seg, d.size);
  }
  return true;
}

bool extend(Emitter& e, const x86::DecodedInst& in, bool sign) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  if (is_gpr(d) && s.kind == OpKind::kGpr && s.reg >= 16 && s.reg < 20) {  // from AH..BH
    e.load_gpr(rax, s.reg - 16u);
    if (sign) {  // no REX prefix with AH: sign-extend to 32 bits, then on to 64
      e.movsx(eax, ah);
      e.movsxd(rax, eax);
    } else {
      e.movzx(eax, ah);
    }
    e.store_gpr(d.reg, d.size, rax);
    return true;
  }
  if (!is_gpr(d) || !is_rm(s)) return false;
  if (e.cached(d.reg) && d.size > s.size) {  // straight into its host register, at its size
    Xbyak::Reg64 src = rax;
    if (s.kind == OpKind::kGpr)
      src = e.gpr_source(s.reg, rax);
    else
      load_operand(e, in, s, s.size);
    const Xbyak::Reg64 h = e.host_of(d.reg);
    const Xbyak::Reg from = sized_reg(src, s.size);
    if (s.size == 4)  // to 8 bytes (a 4-byte MOVSXD is a plain move, not taken here)
      sign ? e.movsxd(h, from) : e.mov(h.cvt32(), from);
    else
      sign ? e.movsx(sized_reg(h, d.size), from) : e.movzx(sized_reg(h, d.size), from);
    e.mark_dirty(d.reg);
    return true;
  }
  load_operand(e, in, s, s.size);
  switch (s.size) {
    case 1:
      sign ? e.movsx(rax, al) : e.movzx(eax, al);
      break;
    case 2:
      sign ? e.movsx(rax, ax) : e.movzx(eax, ax);
      break;
    case 4:
      sign ? e.movsxd(rax, eax) : e.mov(eax, eax);
      break;
    default:
      break;
  }
  e.store_gpr(d.reg, d.size, rax);
  return true;
}

bool lea(Emitter& e, const x86::DecodedInst& in) {
  if (!is_gpr(in.ops[0]) || in.ops[1].kind != OpKind::kMem) return false;
  e.effective_address(in.ops[1], in.addrsize);
  e.store_gpr(in.ops[0].reg, in.ops[0].size, r13);
  return true;
}

// 64-bit mode, 8-byte pushes and pops only (the stack is flat and RSP is not wrapped).
bool push(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand& s = in.ops[0];
  if (e.mode != x86::CodeMode::k64 || in.opsize != 8) return false;
  if (s.kind == OpKind::kGpr && s.reg < 16)
    e.load_gpr(r14, s.reg);
  else if (s.kind == OpKind::kImm)
    e.mov(r14, static_cast<uint64_t>(s.value));
  else
    return false;
  e.load_gpr(r13, arch::kRsp);
  e.lea(r13, ptr[r13 - 8]);  // keeps the host flags (lazily saved guest flags)
  e.store_mem(arch::kSs, 8);
  e.store_gpr(arch::kRsp, 8, r13);
  return true;
}

bool pop(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand& d = in.ops[0];
  if (e.mode != x86::CodeMode::k64 || in.opsize != 8 || !is_gpr(d)) return false;
  e.load_gpr(r13, arch::kRsp);
  e.load_mem(arch::kSs, 8);
  e.lea(rcx, ptr[r13 + 8]);
  e.store_gpr(arch::kRsp, 8, rcx);
  e.store_gpr(d.reg, 8, rax);  // after RSP: POP RSP loads the popped value
  return true;
}

}  // namespace

bool emit_move(Emitter& e, const x86::DecodedInst& in) {
  switch (in.op) {
    case ZYDIS_MNEMONIC_MOV:
      return mov(e, in);
    case ZYDIS_MNEMONIC_MOVZX:
      return extend(e, in, false);
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
      return extend(e, in, true);
    case ZYDIS_MNEMONIC_LEA:
      return lea(e, in);
    case ZYDIS_MNEMONIC_PUSH:
      return push(e, in);
    case ZYDIS_MNEMONIC_POP:
      return pop(e, in);
    case ZYDIS_MNEMONIC_NOP:
      return true;  // only RIP moves, which the translator accounts for
    default:
      return false;
  }
}

}  // namespace vessel::engine::emu::jit
