// Condition codes and near control transfer: Jcc, JMP rel, CALL rel, RET and JMP/CALL through
// a register or memory (64-bit), CMOVcc,
// SETcc. Conditions are the host's own on the flags of the instruction that set them while
// the host still holds them, else a test of the saved flags (Emitter::condition).
#include <Zydis/Mnemonic.h>

#include "engine/emu/jit/emitter.hpp"
#include "x86/decode/branch.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using x86::OpKind;

namespace {

// `if (cc) dst = src` with the host condition `cc` (the low nibble of Jcc/SETcc/CMOVcc).
void cmov(Emitter& e, unsigned cc, const Xbyak::Reg& dst, const Xbyak::Operand& src) {
  switch (cc & 15) {
    case 0:
      e.cmovo(dst, src);
      break;
    case 1:
      e.cmovno(dst, src);
      break;
    case 2:
      e.cmovb(dst, src);
      break;
    case 3:
      e.cmovnb(dst, src);
      break;
    case 4:
      e.cmovz(dst, src);
      break;
    case 5:
      e.cmovnz(dst, src);
      break;
    case 6:
      e.cmovbe(dst, src);
      break;
    case 7:
      e.cmovnbe(dst, src);
      break;
    case 8:
      e.cmovs(dst, src);
      break;
    case 9:
      e.cmovns(dst, src);
      break;
    case 10:
      e.cmovp(dst, src);
      break;
    case 11:
      e.cmovnp(dst, src);
      break;
    case 12:
      e.cmovl(dst, src);
      break;
    case 13:
      e.cmovnl(dst, src);
      break;
    case 14:
      e.cmovle(dst, src);
      break;
    default:
      e.cmovnle(dst, src);
      break;
  }
}

void setcc(Emitter& e, unsigned cc, const Xbyak::Reg8& dst) {
  switch (cc & 15) {
    case 0:
      e.seto(dst);
      break;
    case 1:
      e.setno(dst);
      break;
    case 2:
      e.setb(dst);
      break;
    case 3:
      e.setnb(dst);
      break;
    case 4:
      e.setz(dst);
      break;
    case 5:
      e.setnz(dst);
      break;
    case 6:
      e.setbe(dst);
      break;
    case 7:
      e.setnbe(dst);
      break;
    case 8:
      e.sets(dst);
      break;
    case 9:
      e.setns(dst);
      break;
    case 10:
      e.setp(dst);
      break;
    case 11:
      e.setnp(dst);
      break;
    case 12:
      e.setl(dst);
      break;
    case 13:
      e.setnl(dst);
      break;
    case 14:
      e.setle(dst);
      break;
    default:
      e.setnle(dst);
      break;
  }
}

// rcx = the next instruction's address.
void next_rip(Emitter& e) {
  e.mov(rcx, e.field64(e.lay.rip));
  e.lea(rcx, ptr[rcx + static_cast<int>(e.pending + e.length)]);  // keeps host flags
  e.wrap_ip(rcx);
}

// rdx = the branch target of a kRel operand (wrapped to the operand size, as branch_target).
void rel_target(Emitter& e, const x86::DecodedInst& in) {
  e.lea(rdx, ptr[rcx + static_cast<int32_t>(in.ops[0].value)]);
  if (in.opsize == 4)
    e.mov(edx, edx);
  else if (in.opsize == 2)
    e.movzx(edx, dx);
}

void set_rip(Emitter& e, const Xbyak::Reg64& r) {
  e.mov(e.field64(e.lay.rip), r);
  e.sets_rip = true;
}

// A relative branch whose targets are RIP plus constants: each way out is a direct exit
// (chained once its successor is translated).
bool jcc(Emitter& e, const x86::DecodedInst& in) {
  if (in.ops[0].kind != OpKind::kRel) return false;
  if (e.ip_sized(in.opsize)) {
    const int64_t rel = in.ops[0].value;
    const int64_t through = e.pending + e.length;
    const unsigned cc = e.condition(in.opcode);  // may emit a test first: before the exits
    e.jcc_exit(cc, e.direct_exit(e.index + 1, through + rel, e.target_of(rel)));
    e.jmp_exit(e.direct_exit(e.index + 1, through, e.target_of(0)));
    e.sets_rip = e.ended = true;
    return true;
  }
  next_rip(e);
  rel_target(e, in);
  cmov(e, e.condition(in.opcode), rcx, rdx);
  set_rip(e, rcx);
  return true;
}

bool jmp(Emitter& e, const x86::DecodedInst& in) {
  if (in.ops[0].kind != OpKind::kRel) return false;
  if (e.ip_sized(in.opsize)) {
    const int64_t rel = in.ops[0].value;
    e.jmp_exit(e.direct_exit(e.index + 1, e.pending + e.length + rel, e.target_of(rel)));
    e.sets_rip = e.ended = true;
    return true;
  }
  next_rip(e);
  rel_target(e, in);
  set_rip(e, rdx);
  return true;
}

bool call(Emitter& e, const x86::DecodedInst& in) {
  if (in.ops[0].kind != OpKind::kRel || e.mode != x86::CodeMode::k64 || in.opsize != 8)
    return false;
  next_rip(e);
  e.mov(r14, rcx);
  e.load_gpr(r13, arch::kRsp);
  e.lea(r13, ptr[r13 - 8]);  // keeps the host flags (lazily saved guest flags)
  e.store_mem(arch::kSs, 8);
  e.store_gpr(arch::kRsp, 8, r13);
  const int64_t rel = in.ops[0].value;
  const int64_t delta = e.pending + e.length + rel;
  // The push may have hit a code page and dropped translations: back to the run loop.
  e.cmp(e.byte[rbx + e.lay.end_block], 0);
  e.jcc_exit(Emitter::kCcNe, e.exit(kLeft, e.index + 1, delta));
  e.jmp_exit(e.direct_exit(e.index + 1, delta, e.target_of(rel)));
  e.sets_rip = e.ended = true;
  return true;
}

bool ret(Emitter& e, const x86::DecodedInst& in) {
  if ((in.opcode != 0xc3 && in.opcode != 0xc2) || e.mode != x86::CodeMode::k64 || in.opsize != 8)
    return false;
  const int extra = in.num_operands ? static_cast<int>(in.ops[0].value & 0xffff) : 0;
  e.load_gpr(r13, arch::kRsp);
  e.load_mem(arch::kSs, 8);
  e.lea(rcx, ptr[r13 + 8 + extra]);
  e.store_gpr(arch::kRsp, 8, rcx);
  set_rip(e, rax);
  return true;
}

// JMP/CALL near through a register or memory (FF /4, FF /2), 64-bit: the target loaded (a
// memory operand may fault before anything is done), CALL's push, then the indirect-lookup
// exit the translator ends the block with (st.rip set, as after RET).
bool indirect(Emitter& e, const x86::DecodedInst& in, bool is_call) {
  const x86::Operand& t = in.ops[0];
  const unsigned form = in.modrm >> 3 & 7;
  if (e.mode != x86::CodeMode::k64 || in.opsize != 8 || in.opcode != 0xff || !is_rm(t) ||
      form != (is_call ? 2u : 4u))
    return false;
  if (t.kind == OpKind::kMem) {
    e.effective_address(t, in.addrsize);
    e.load_mem(t.seg, 8);
  } else {
    e.load_gpr(rax, t.reg);
  }
  if (is_call) {
    e.mov(e.qword[rsp], rax);  // the store's slow path keeps the spill slot
    next_rip(e);
    e.mov(r14, rcx);
    e.load_gpr(r13, arch::kRsp);
    e.lea(r13, ptr[r13 - 8]);
    e.store_mem(arch::kSs, 8);
    e.store_gpr(arch::kRsp, 8, r13);
    e.mov(rax, e.qword[rsp]);
  }
  set_rip(e, rax);
  return true;
}

bool cmovcc(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  if (!is_gpr(d) || !is_rm(s) || d.size == 1) return false;
  Xbyak::Reg64 src = rax;
  if (s.kind == OpKind::kMem) {  // read (and may fault) whatever the condition
    e.effective_address(s, in.addrsize);
    e.load_mem(s.seg, d.size);
  } else {
    src = e.gpr_source(s.reg, rax);
  }
  if (e.cached(d.reg)) {  // the host's CMOVcc has the guest's width rules
    const Xbyak::Reg64 h = e.host_of(d.reg);
    const unsigned cc = e.condition(in.opcode);
    d.size == 8   ? cmov(e, cc, h, src)
    : d.size == 4 ? cmov(e, cc, h.cvt32(), src.cvt32())
                  : cmov(e, cc, h.cvt16(), src.cvt16());
    e.mark_dirty(d.reg);
    return true;
  }
  if (src.getIdx() != rax.getIdx()) e.mov(rax, src);
  e.load_gpr(rdx, d.reg);
  cmov(e, e.condition(in.opcode), rdx, rax);  // 64-bit move: store_gpr applies the size rules
  e.store_gpr(d.reg, d.size, rdx);
  return true;
}

bool set(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand& d = in.ops[0];
  if (!is_rm(d)) return false;
  if (d.kind == OpKind::kGpr && e.cached(d.reg)) {
    setcc(e, e.condition(in.opcode), e.host_of(d.reg).cvt8());
    e.mark_dirty(d.reg);
    return true;
  }
  setcc(e, e.condition(in.opcode), al);
  e.movzx(eax, al);
  if (d.kind == OpKind::kGpr) {
    e.store_gpr(d.reg, 1, rax);
  } else {
    e.mov(r14, rax);
    e.effective_address(d, in.addrsize);
    e.store_mem(d.seg, 1);
  }
  return true;
}

bool is_cmov(uint16_t op) {
  return op >= ZYDIS_MNEMONIC_CMOVB && op <= ZYDIS_MNEMONIC_CMOVZ;
}
bool is_set(uint16_t op) {
  return op >= ZYDIS_MNEMONIC_SETB && op <= ZYDIS_MNEMONIC_SETZ && op != ZYDIS_MNEMONIC_SETSSBSY;
}

}  // namespace

bool emit_branch(Emitter& e, const x86::DecodedInst& in) {
  if (x86::is_jcc(in.op)) return jcc(e, in);
  if (in.op == ZYDIS_MNEMONIC_JMP) return jmp(e, in) || indirect(e, in, false);
  if (in.op == ZYDIS_MNEMONIC_CALL) return call(e, in) || indirect(e, in, true);
  if (in.op == ZYDIS_MNEMONIC_RET) return ret(e, in);
  if (is_cmov(in.op) && in.opcode_map == 1) return cmovcc(e, in);
  if (is_set(in.op) && in.opcode_map == 1) return set(e, in);
  return false;
}

}  // namespace vessel::engine::emu::jit
