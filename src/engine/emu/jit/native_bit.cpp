// BT/BTS/BTR/BTC (SDM Vol. 2A): a register or memory operand, a register or immediate bit
// offset (a register offset into memory addresses a bit string). CF is the bit; OF/SF/AF/PF are
// undefined and, as in the interpreter, the host's after the same instruction run on the guest's
// flags. CMPXCHG r/m, r without LOCK (SDM Vol. 2A): the flags of CMP accumulator, destination; a
// register destination is written only on a match (RAX only on a mismatch), a memory one
// always (with its old value on a mismatch), as in the interpreter.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/alu_ops.hpp"
#include "engine/emu/jit/native_forms.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using x86::OpKind;
using Xbyak::CodeGenerator;

namespace {

// `offset`: a register or an immediate.
template <class Offset>
void bit_op(Emitter& e, uint16_t op, const Xbyak::Reg& v, const Offset& offset) {
  switch (op) {
    case ZYDIS_MNEMONIC_BT:
      e.bt(v, offset);
      break;
    case ZYDIS_MNEMONIC_BTS:
      e.bts(v, offset);
      break;
    case ZYDIS_MNEMONIC_BTR:
      e.btr(v, offset);
      break;
    default:
      e.btc(v, offset);
      break;
  }
}

// A register bit offset into memory addresses a bit string (SDM Vol. 2A BT, "bit base"):
// r13 moves by the signed offset's whole operands, wrapped to the address size; the host
// instruction then takes the offset modulo the operand size from the register.
void bit_string_address(Emitter& e, const x86::DecodedInst& in, unsigned reg) {
  const unsigned size = in.ops[0].size;
  e.clobber_flags();
  e.load_gpr(rax, reg);
  if (size == 2)
    e.movsx(rax, ax);
  else if (size == 4)
    e.movsxd(rax, eax);
  e.sar(rax, size == 2 ? 4 : size == 4 ? 5 : 6);
  e.lea(r13, ptr[r13 + rax * static_cast<int>(size)]);
  if (in.addrsize == 4)
    e.mov(r13d, r13d);
  else if (in.addrsize == 2)
    e.movzx(r13d, r13w);
}

bool bit_test(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  if (!is_rm(d) || d.size < 2 || !(is_gpr(s) || s.kind == OpKind::kImm)) return false;
  const unsigned size = d.size;
  const bool writes = in.op != ZYDIS_MNEMONIC_BT, stores = writes && d.kind == OpKind::kMem;
  const uint32_t keep = kArithFlags & e.flags_live;
  e.prepare_flags(kArithFlags, keep, d.kind == OpKind::kMem, stores);
  // The value in a register guest_flags_to_host (rax) and the memory access leave alone.
  Xbyak::Reg64 v = rdx;
  if (d.kind == OpKind::kMem) {
    e.effective_address(d, in.addrsize);
    if (s.kind == OpKind::kGpr) bit_string_address(e, in, s.reg);
    e.load_mem(d.seg, size);
    e.mov(rdx, rax);
  } else if (e.cached(d.reg)) {
    v = e.host_of(d.reg);
  } else {
    e.load_gpr(rdx, d.reg);
  }
  const Xbyak::Reg64 offset = s.kind == OpKind::kGpr ? e.gpr_source(s.reg, rcx) : rcx;
  e.guest_flags_to_host();  // all flags in st.rflags from here
  if (s.kind == OpKind::kImm)
    bit_op(e, in.op, sized_reg(v, size), static_cast<uint8_t>(s.value & (8 * size - 1)));
  else
    bit_op(e, in.op, sized_reg(v, size), sized_reg(offset, size));
  e.flags_written(kArithFlags, keep, !stores);
  if (!writes) return true;
  if (d.kind == OpKind::kGpr && e.cached(d.reg)) {
    e.mark_dirty(d.reg);  // a 32-bit host write zero-extends as the guest's
  } else if (d.kind == OpKind::kGpr) {
    e.store_gpr(d.reg, size, rdx);
  } else {
    e.mov(r14, rdx);
    e.store_mem(d.seg, size);
    e.flags_committed(kArithFlags, keep);
  }
  return true;
}

// out = `full` with its low `size` bytes replaced by `part` (a 32-bit write zero-extends), by
// moves only: the host flags survive.
void merge_sized(Emitter& e, const Xbyak::Reg64& out, const Xbyak::Reg64& full,
                 const Xbyak::Reg64& part, unsigned size) {
  if (size == 8) {
    e.mov(out, part);
  } else if (size == 4) {
    e.mov(out.cvt32(), part.cvt32());
  } else {
    e.mov(out, full);
    e.mov(sized_reg(out, size), sized_reg(part, size));
  }
}

bool cmpxchg(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  if (!interp::fresh_flags_ok() || !is_rm(d) || !is_gpr(s)) return false;
  const unsigned size = d.size;
  const bool mem = d.kind == OpKind::kMem;
  const uint32_t keep = kArithFlags & e.flags_live;
  e.prepare_flags(kArithFlags, keep, mem, mem);
  if (mem) {
    e.effective_address(d, in.addrsize);
    e.load_mem(d.seg, size);
    e.mov(rdx, rax);
  } else {
    e.load_gpr(rdx, d.reg);
  }
  e.load_gpr(rcx, s.reg);
  e.load_gpr(rax, arch::kRax);
  e.cmp(sized_reg(rax, size), sized_reg(rdx, size));
  e.flags_written(kArithFlags, keep, !mem);
  // RAX takes the destination's old value on a mismatch.
  merge_sized(e, rdi, rax, rdx, size);
  e.cmovnz(rax, rdi);
  if (!mem) {
    merge_sized(e, rsi, rdx, rcx, size);  // the destination takes the source on a match
    e.cmovz(rdx, rsi);
    e.store_gpr(arch::kRax, 8, rax);
    e.store_gpr(d.reg, 8, rdx);  // last: CMPXCHG RAX, r always matches
    return true;
  }
  e.mov(r14, rdx);
  e.cmovz(r14, rcx);
  e.mov(e.qword[rsp], rax);  // the store's slow path keeps the spill slot
  e.store_mem(d.seg, size);
  e.flags_committed(kArithFlags, keep);
  e.mov(rax, e.qword[rsp]);
  e.store_gpr(arch::kRax, 8, rax);
  return true;
}

}  // namespace

bool emit_bit(Emitter& e, const x86::DecodedInst& in) {
  switch (in.op) {
    case ZYDIS_MNEMONIC_BT:
    case ZYDIS_MNEMONIC_BTS:
    case ZYDIS_MNEMONIC_BTR:
    case ZYDIS_MNEMONIC_BTC:
      return bit_test(e, in);
    case ZYDIS_MNEMONIC_CMPXCHG:
      return cmpxchg(e, in);
    default:
      return false;
  }
}

}  // namespace vessel::engine::emu::jit
