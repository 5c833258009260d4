// Arithmetic and logic with the host's own instructions, which set the same flags as the
// guest's: ADD/OR/ADC/SBB/AND/SUB/XOR/CMP/TEST, INC/DEC, SHL/SHR/SAR/ROL/ROR, IMUL (2 and 3
// operands), NEG; MUL and IMUL with one operand, NOT and BSWAP on any host. Otherwise only on hosts
// where these flags do not depend on the incoming ones (interp::fresh_flags_ok), as in the
// interpreter's fast forms; the result is the same as the interpreter's.
#include <Zydis/Mnemonic.h>

#include <optional>

#include "engine/emu/interp/alu_ops.hpp"
#include "engine/emu/jit/native_forms.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using x86::OpKind;

namespace {

constexpr uint32_t kCF = 1, kOF = 0x800;

// The register to compute operand 0 in: a cached GPR's own host register (the host's partial
// writes are the guest's), else rax loaded with it (r13 keeps a memory operand's offset for
// the write back).
Xbyak::Reg64 load_dest(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand& d = in.ops[0];
  if (d.kind == OpKind::kGpr) {
    if (e.cached(d.reg)) return e.host_of(d.reg);
    e.load_gpr(rax, d.reg);
  } else {
    e.effective_address(d, in.addrsize);
    e.load_mem(d.seg, d.size);
  }
  return rax;
}

bool touches_mem(const x86::DecodedInst& in) {
  for (unsigned i = 0; i < in.num_operands; ++i)
    if (in.ops[i].kind == OpKind::kMem) return true;
  return false;
}

// Before loading the operands of an instruction that writes `flags` (see prepare_flags).
void prepare(Emitter& e, const x86::DecodedInst& in, uint32_t flags, bool write_back) {
  const bool mem = touches_mem(in);
  e.prepare_flags(flags, flags & e.flags_live, mem,
                  mem && write_back && in.ops[0].kind == OpKind::kMem);
}

// Writes the result back to operand 0 (rax, or a cached GPR computed in place by load_dest,
// which only becomes dirty); the flags it writes that are live after it stay in r15 (lazy
// flags: dead ones are never stored) and in the host flags until glue clobbers them.
void finish(Emitter& e, const x86::DecodedInst& in, bool write_back, uint32_t flags) {
  const uint32_t keep = flags & e.flags_live;
  const x86::Operand& d = in.ops[0];
  const bool stores = write_back && d.kind == OpKind::kMem;
  e.flags_written(flags, keep, !stores);
  if (write_back) {
    if (d.kind == OpKind::kGpr && e.cached(d.reg)) {
      e.mark_dirty(d.reg);
    } else if (d.kind == OpKind::kGpr) {
      e.store_gpr(d.reg, d.size, rax);
    } else {
      e.mov(r14, rax);
      e.store_mem(d.seg, d.size);
    }
  }
  if (stores) e.flags_committed(flags, keep);
}

// An immediate as the host instruction's imm8/imm16/imm32 for an operation of `size` bytes
// (sign-extended, as xbyak picks the encoding); none for a 64-bit one beyond imm32's range.
std::optional<uint32_t> host_imm(const x86::Operand& s, unsigned size) {
  const int64_t v = s.value;
  if (size == 8 && v != static_cast<int32_t>(v)) return std::nullopt;
  const int32_t imm = size == 1   ? static_cast<int8_t>(v)
                      : size == 2 ? static_cast<int16_t>(v)
                                  : static_cast<int32_t>(v);
  return static_cast<uint32_t>(imm);
}

// `a op= imm` for the binary operations that read no flag; false for ADC/SBB.
bool op_with_imm(Emitter& e, uint16_t op, const Xbyak::Reg& a, uint32_t imm) {
  switch (op) {
    case ZYDIS_MNEMONIC_ADD:
      e.add(a, imm);
      return true;
    case ZYDIS_MNEMONIC_OR:
      e.or_(a, imm);
      return true;
    case ZYDIS_MNEMONIC_AND:
      e.and_(a, imm);
      return true;
    case ZYDIS_MNEMONIC_SUB:
      e.sub(a, imm);
      return true;
    case ZYDIS_MNEMONIC_XOR:
      e.xor_(a, imm);
      return true;
    case ZYDIS_MNEMONIC_CMP:
      e.cmp(a, imm);
      return true;
    case ZYDIS_MNEMONIC_TEST:
      e.test(a, imm);
      return true;
    default:
      return false;
  }
}

// `a op= b` for the binary operations that read no flag.
void op_with_reg(Emitter& e, uint16_t op, const Xbyak::Reg& a, const Xbyak::Reg& b) {
  switch (op) {
    case ZYDIS_MNEMONIC_ADD:
      e.add(a, b);
      break;
    case ZYDIS_MNEMONIC_OR:
      e.or_(a, b);
      break;
    case ZYDIS_MNEMONIC_AND:
      e.and_(a, b);
      break;
    case ZYDIS_MNEMONIC_SUB:
      e.sub(a, b);
      break;
    case ZYDIS_MNEMONIC_XOR:
      e.xor_(a, b);
      break;
    case ZYDIS_MNEMONIC_CMP:
      e.cmp(a, b);
      break;
    default:  // TEST
      e.test(a, b);
      break;
  }
}

bool binary(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  if (!is_rm(d)) return false;
  const unsigned size = d.size;
  if (s.kind == OpKind::kMem && d.kind != OpKind::kGpr) return false;
  if (!(s.kind == OpKind::kMem || is_gpr(s) || s.kind == OpKind::kImm)) return false;
  const bool write_back = in.op != ZYDIS_MNEMONIC_CMP && in.op != ZYDIS_MNEMONIC_TEST;
  prepare(e, in, kArithFlags, write_back);
  Xbyak::Reg64 dst = rax, src = rdx;
  if (s.kind == OpKind::kMem) {  // r, [m]: the memory source first (rax is the load's)
    e.effective_address(s, in.addrsize);
    e.load_mem(s.seg, size);
    e.mov(rdx, rax);
    dst = load_dest(e, in);
  } else {
    dst = load_dest(e, in);
    const auto imm = s.kind == OpKind::kImm ? host_imm(s, size) : std::nullopt;
    if (imm && op_with_imm(e, in.op, sized_reg(dst, size), *imm)) {
      finish(e, in, write_back, kArithFlags);
      return true;
    }
    if (s.kind == OpKind::kGpr)
      src = e.gpr_source(s.reg, rdx);
    else
      e.mov(rdx, static_cast<uint64_t>(s.value));
  }
  const Xbyak::Reg a = sized_reg(dst, size), b = sized_reg(src, size);
  if (in.op == ZYDIS_MNEMONIC_ADC || in.op == ZYDIS_MNEMONIC_SBB) {
    e.carry_to_host();
    if (in.op == ZYDIS_MNEMONIC_ADC)
      e.adc(a, b);
    else
      e.sbb(a, b);
  } else {
    op_with_reg(e, in.op, a, b);
  }
  finish(e, in, write_back, kArithFlags);
  return true;
}

bool high_byte(const x86::Operand& op) {
  return op.kind == OpKind::kGpr && op.reg >= 16 && op.reg < 20;
}

// The byte forms with AH/CH/DH/BH (bits 15:8 of RAX..RBX) as an operand: both operands in
// legacy byte registers (destination al/ah, source dl/dh: no REX prefix, so the host's own
// high-byte registers encode), a high destination written back as its whole 64-bit GPR.
bool binary_high(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  const auto gpr8 = [](const x86::Operand& op) {
    return op.kind == OpKind::kGpr && op.reg < 20 && op.size == 1;
  };
  if (!(gpr8(d) || d.kind == OpKind::kMem) || d.size != 1) return false;
  if (!(gpr8(s) || s.kind == OpKind::kImm || (s.kind == OpKind::kMem && d.kind != OpKind::kMem)))
    return false;
  const auto guest = [](const x86::Operand& op) { return high_byte(op) ? op.reg - 16u : op.reg; };
  const bool write_back = in.op != ZYDIS_MNEMONIC_CMP && in.op != ZYDIS_MNEMONIC_TEST;
  const bool stores = write_back && d.kind == OpKind::kMem;
  prepare(e, in, kArithFlags, write_back);
  if (s.kind == OpKind::kMem) {  // the memory source first (the access uses rax and rdx)
    e.effective_address(s, in.addrsize);
    e.load_mem(s.seg, 1);
    e.mov(edx, eax);
  }
  if (d.kind == OpKind::kMem) {
    e.effective_address(d, in.addrsize);
    e.load_mem(d.seg, 1);
  } else {
    e.load_gpr(rax, guest(d));
  }
  if (s.kind == OpKind::kGpr) e.load_gpr(rdx, guest(s));
  const Xbyak::Reg8 a = high_byte(d) ? ah : al, b = high_byte(s) ? dh : dl;
  if (s.kind != OpKind::kImm || !op_with_imm(e, in.op, a, static_cast<uint8_t>(s.value))) {
    if (s.kind == OpKind::kImm) e.mov(edx, static_cast<uint8_t>(s.value));
    switch (in.op) {
      case ZYDIS_MNEMONIC_ADC:
        e.carry_to_host();
        e.adc(a, b);
        break;
      case ZYDIS_MNEMONIC_SBB:
        e.carry_to_host();
        e.sbb(a, b);
        break;
      default:
        op_with_reg(e, in.op, a, b);
        break;
    }
  }
  const uint32_t keep = kArithFlags & e.flags_live;
  e.flags_written(kArithFlags, keep, !stores);
  if (!write_back) return true;
  if (high_byte(d)) {
    e.store_gpr(guest(d), 8, rax);
  } else if (d.kind == OpKind::kGpr) {
    e.store_gpr(d.reg, 1, rax);
  } else {
    e.mov(r14, rax);
    e.store_mem(d.seg, 1);
    e.flags_committed(kArithFlags, keep);
  }
  return true;
}

bool inc_dec(Emitter& e, const x86::DecodedInst& in, bool dec) {
  if (!is_rm(in.ops[0])) return false;
  const uint32_t writes = kArithFlags & ~kCF;
  const bool mem = in.ops[0].kind == OpKind::kMem;
  e.prepare_flags(writes, writes & e.flags_live, mem, mem, true);
  const Xbyak::Reg a = sized_reg(load_dest(e, in), in.ops[0].size);
  e.keep_carry(writes & e.flags_live);
  dec ? e.dec(a) : e.inc(a);
  finish(e, in, true, kArithFlags & ~kCF);  // CF is kept
  return true;
}

// SHL/SHR/SAR/ROL/ROR by an immediate (count not 0 after masking: count 0 changes no flags and the
// interpreter still writes memory back) or by CL into a register.
bool shift(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand &d = in.ops[0], &s = in.ops[1];
  const unsigned size = d.size;
  const unsigned mask = size == 8 ? 63 : 31;
  Xbyak::Reg a = sized_reg(rax, size);
  const auto op = [&](const auto& count) {
    switch (in.op) {
      case ZYDIS_MNEMONIC_SHL:
        return e.shl(a, count);
      case ZYDIS_MNEMONIC_SHR:
        return e.shr(a, count);
      case ZYDIS_MNEMONIC_SAR:
        return e.sar(a, count);
      case ZYDIS_MNEMONIC_ROL:
        return e.rol(a, count);
      default:
        return e.ror(a, count);
    }
  };
  // Rotates write only CF and OF (SDM Vol. 2B RCL/RCR/ROL/ROR).
  const bool rotate = in.op == ZYDIS_MNEMONIC_ROL || in.op == ZYDIS_MNEMONIC_ROR;
  const uint32_t writes = rotate ? kCF | kOF : kArithFlags;
  if (s.kind == OpKind::kImm) {
    const unsigned count = static_cast<unsigned>(s.value) & mask;
    if (!is_rm(d) || count == 0) return false;
    prepare(e, in, writes, true);
    a = sized_reg(load_dest(e, in), size);
    if (rotate) {         // by CL as the interpreter does: the host's OF for counts > 1 (undefined
      e.mov(ecx, count);  // in the SDM) differs between the imm8 and CL forms on some hosts
      op(cl);
    } else {
      op(static_cast<int>(count));
    }
    finish(e, in, true, writes);
    return true;
  }
  if (!is_gpr(d) || s.kind != OpKind::kGpr || s.reg != arch::kRcx) return false;
  // A count of 0 writes no flag: both ways leave every flag in st.rflags.
  Xbyak::Label zero, done;
  e.materialize();
  const Xbyak::Reg64 dst = load_dest(e, in);
  a = sized_reg(dst, size);
  e.load_gpr(rcx, arch::kRcx);
  e.and_(ecx, mask);
  e.jz(zero, Xbyak::CodeGenerator::T_NEAR);
  op(cl);
  finish(e, in, true, writes);
  e.materialize();
  e.jmp(done, Xbyak::CodeGenerator::T_NEAR);
  e.L(zero);  // count 0: flags unchanged, but a 32-bit destination is still zero-extended
  if (size == 4) e.store_gpr(d.reg, 4, dst);
  e.L(done);
  return true;
}

bool imul(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand& d = in.ops[0];
  if (in.num_operands < 2 || !is_gpr(d) || d.size == 1) return false;
  const x86::Operand& s = in.ops[1];
  if (!is_rm(s) || (in.num_operands == 3 && in.ops[2].kind != OpKind::kImm)) return false;
  prepare(e, in, kArithFlags, true);
  Xbyak::Reg64 src = rdx;
  if (s.kind == OpKind::kMem) {
    e.effective_address(s, in.addrsize);
    e.load_mem(s.seg, d.size);
    e.mov(rdx, rax);
  } else {
    src = e.gpr_source(s.reg, rdx);
  }
  const Xbyak::Reg64 dst = e.cached(d.reg) ? e.host_of(d.reg) : rax;
  const Xbyak::Reg a = sized_reg(dst, d.size), b = sized_reg(src, d.size);
  if (in.num_operands == 3) {
    e.imul(a, b, static_cast<int>(in.ops[2].value));
  } else {
    e.load_gpr(dst, d.reg);  // nothing when cached
    e.imul(a, b);
  }
  finish(e, in, true, kArithFlags);
  return true;
}

// NOT/NEG r/m (SDM Vol. 2B): NOT writes no flag, NEG all (as SUB from 0).
bool not_neg(Emitter& e, const x86::DecodedInst& in, bool neg) {
  if (!is_rm(in.ops[0])) return false;
  if (neg) prepare(e, in, kArithFlags, true);
  const Xbyak::Reg a = sized_reg(load_dest(e, in), in.ops[0].size);
  neg ? e.neg(a) : e.not_(a);
  finish(e, in, true, neg ? kArithFlags : 0);
  return true;
}

// BSWAP r32/r64; the 16-bit form is undefined (SDM Vol. 2A BSWAP) and the interpreter writes
// 0 to the low word, as Intel hardware does.
bool bswap(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand& d = in.ops[0];
  if (!is_gpr(d)) return false;
  if (d.size == 2) {
    e.mov(eax, 0);  // not xor: the host flags stay the guest's
    e.store_gpr(d.reg, 2, rax);
    return true;
  }
  const Xbyak::Reg64 dst = load_dest(e, in);
  d.size == 8 ? e.bswap(dst) : e.bswap(dst.cvt32());  // the 32-bit form zero-extends
  if (e.cached(d.reg))
    e.mark_dirty(d.reg);
  else
    e.store_gpr(d.reg, d.size, rax);
  return true;
}

// MUL/IMUL r/m (SDM Vol. 2A MUL, IMUL): AX = AL * r/m8, else rDX:rAX = rAX * r/m. CF and OF
// are defined; SF/ZF/AF/PF are not, and the interpreter takes them from the host running the
// same instruction on the guest's incoming flags: when one of them is live, so does this (and
// flag_liveness keeps every flag live before it).
bool mul1(Emitter& e, const x86::DecodedInst& in) {
  const x86::Operand& s = in.ops[0];
  if (in.num_operands != 1 || !is_rm(s)) return false;
  const uint32_t keep = kArithFlags & e.flags_live;
  prepare(e, in, kArithFlags, false);
  if (s.kind == OpKind::kMem) {
    e.effective_address(s, in.addrsize);
    e.load_mem(s.seg, s.size);
    e.mov(rcx, rax);
  } else {
    e.load_gpr(rcx, s.reg);
  }
  if (keep & ~(kCF | kOF)) e.guest_flags_to_host();  // uses rax: before RAX is loaded
  e.load_gpr(rax, arch::kRax);
  const Xbyak::Reg b = sized_reg(rcx, s.size);
  in.op == ZYDIS_MNEMONIC_MUL ? e.mul(b) : e.imul(b);
  e.flags_written(kArithFlags, keep, true);
  if (s.size == 1) {
    e.store_gpr(arch::kRax, 2, rax);
  } else {
    e.store_gpr(arch::kRax, s.size, rax);
    e.store_gpr(arch::kRdx, s.size, rdx);
  }
  return true;
}

}  // namespace

bool emit_alu(Emitter& e, const x86::DecodedInst& in) {
  // One-operand MUL/IMUL run on the guest's flags when it matters: any host will do.
  if (in.op == ZYDIS_MNEMONIC_MUL || (in.op == ZYDIS_MNEMONIC_IMUL && in.num_operands == 1))
    return mul1(e, in);
  if (in.op == ZYDIS_MNEMONIC_NOT) return not_neg(e, in, false);
  if (in.op == ZYDIS_MNEMONIC_BSWAP) return bswap(e, in);
  if (!interp::fresh_flags_ok()) return false;
  switch (in.op) {
    case ZYDIS_MNEMONIC_ADD:
    case ZYDIS_MNEMONIC_OR:
    case ZYDIS_MNEMONIC_ADC:
    case ZYDIS_MNEMONIC_SBB:
    case ZYDIS_MNEMONIC_AND:
    case ZYDIS_MNEMONIC_SUB:
    case ZYDIS_MNEMONIC_XOR:
    case ZYDIS_MNEMONIC_CMP:
    case ZYDIS_MNEMONIC_TEST:
      if (high_byte(in.ops[0]) || high_byte(in.ops[1])) return binary_high(e, in);
      return binary(e, in);
    case ZYDIS_MNEMONIC_INC:
      return inc_dec(e, in, false);
    case ZYDIS_MNEMONIC_DEC:
      return inc_dec(e, in, true);
    case ZYDIS_MNEMONIC_NEG:
      return not_neg(e, in, true);
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR:
    case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR:
      return shift(e, in);
    case ZYDIS_MNEMONIC_IMUL:
      return imul(e, in);
    default:
      return false;
  }
}

}  // namespace vessel::engine::emu::jit
