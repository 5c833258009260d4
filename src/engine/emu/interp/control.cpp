// Control transfer (SDM Vol. 1 §6.3-6.5, §7.3.8; Vol. 2 JMP, Jcc, CALL, RET, LOOP, JCXZ,
// INT n/INT3/INTO, IRET). Far forms go through Cpu::far_transfer/far_return/iret (segments.cpp).
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

// A far pointer in memory: offset (operand size) then a 16-bit selector.
void read_far_pointer(Cpu& c, const DecodedInst& in, uint16_t& sel, uint64_t& off) {
  const Operand& op = in.ops[0];
  const unsigned osz = in.opsize;
  const uint64_t ea = effective_address(c, in, op);
  off = c.read(op.seg, ea, osz);
  sel = static_cast<uint16_t>(c.read(op.seg, (ea + osz) & size_mask(in.addrsize), 2));
}

void JMP(Cpu& c, const DecodedInst& in) {
  const Operand& op = in.ops[0];
  if (op.kind == OpKind::kRel) {
    c.next_rip = branch_target(c, in, 0);
  } else if (op.kind == OpKind::kFarPtr) {
    c.far_transfer(op.far_selector, static_cast<uint64_t>(op.value), false, in.opsize);
  } else if (op.kind == OpKind::kMem && in.opcode == 0xff && (in.modrm >> 3 & 7) == 5) {
    // JMP m16:16/32/64 (FF /5)
    uint16_t sel;
    uint64_t off;
    read_far_pointer(c, in, sel, off);
    c.far_transfer(sel, off, false, in.opsize);
  } else {
    c.next_rip = read_op(c, in, 0);
  }
}

void CALL(Cpu& c, const DecodedInst& in) {
  const Operand& op = in.ops[0];
  if (op.kind == OpKind::kFarPtr)
    return c.far_transfer(op.far_selector, static_cast<uint64_t>(op.value), true, in.opsize);
  if (op.kind == OpKind::kMem && in.opcode == 0xff &&
      (in.modrm >> 3 & 7) == 3) {  // CALL m16:16/32/64 (FF /3)
    uint16_t sel;
    uint64_t off;
    read_far_pointer(c, in, sel, off);
    return c.far_transfer(sel, off, true, in.opsize);
  }
  const uint64_t target = op.kind == OpKind::kRel ? branch_target(c, in, 0) : read_op(c, in, 0);
  c.push(c.next_rip, in.opsize);
  c.next_rip = target;
}

void RET(Cpu& c, const DecodedInst& in) {
  const uint64_t extra = in.num_operands ? static_cast<uint64_t>(in.ops[0].value) & 0xffff : 0;
  if (in.opcode == 0xca || in.opcode == 0xcb) return c.far_return(in.opsize, extra);
  const uint64_t target = c.pop(in.opsize);
  const unsigned ss = c.stack_size();
  const uint64_t mask = ss == 8 ? ~0ull : ss == 4 ? 0xffffffffull : 0xffffull;
  c.st.gpr[kRsp] = (c.st.gpr[kRsp] & ~mask) | ((c.st.gpr[kRsp] + extra) & mask);
  c.next_rip = target;
}

void Jcc(Cpu& c, const DecodedInst& in) {
  if (condition(c.st.rflags, in.opcode & 0xf)) c.next_rip = branch_target(c, in, 0);
}

void LOOP(Cpu& c, const DecodedInst& in) {
  const uint64_t amask = size_mask(in.addrsize);
  const uint64_t cx = (c.st.gpr[kRcx] - 1) & amask;
  set_gpr(c, kRcx, in.addrsize, cx);
  bool take = cx != 0;
  if (in.op == ZYDIS_MNEMONIC_LOOPE) take = take && (c.st.rflags & rflags::kZF);
  if (in.op == ZYDIS_MNEMONIC_LOOPNE) take = take && !(c.st.rflags & rflags::kZF);
  if (take) c.next_rip = branch_target(c, in, 0);
}

void JCXZ(Cpu& c, const DecodedInst& in) {
  if ((c.st.gpr[kRcx] & size_mask(in.addrsize)) == 0) c.next_rip = branch_target(c, in, 0);
}

void INT(Cpu& c, const DecodedInst& in) {
  // IOPL-sensitive in virtual-8086 mode (without CR4.VME): #GP(0) goes to the v86 monitor.
  if ((c.st.rflags & rflags::kVM) && ((c.st.rflags >> 12) & 3) < 3) raise(vec::kGP, 0);
  c.raise_interrupt_sw(static_cast<uint8_t>(in.ops[0].value));
}
void INT3(Cpu& c, const DecodedInst&) {
  c.raise_interrupt_sw(vec::kBP);
}
// INT1/ICEBP (F1): a #DB trap delivered like a hardware exception (no gate DPL check).
void INT1(Cpu& c, const DecodedInst&) {
  c.deliver(vec::kDB, false, 0, false, c.next_rip);
  c.next_rip = c.st.rip;
  c.end_block = true;
}
void INTO(Cpu& c, const DecodedInst&) {
  if (c.st.rflags & rflags::kOF) c.raise_interrupt_sw(vec::kOF);
}
void IRET(Cpu& c, const DecodedInst& in) {
  c.iret(in.opsize);
}
void UD(Cpu&, const DecodedInst&) {
  raise(vec::kUD);
}

}  // namespace

void register_control(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_JMP] = JMP;
  t[ZYDIS_MNEMONIC_CALL] = CALL;
  t[ZYDIS_MNEMONIC_RET] = RET;
  for (int m : {ZYDIS_MNEMONIC_JB, ZYDIS_MNEMONIC_JBE, ZYDIS_MNEMONIC_JL, ZYDIS_MNEMONIC_JLE,
                ZYDIS_MNEMONIC_JNB, ZYDIS_MNEMONIC_JNBE, ZYDIS_MNEMONIC_JNL, ZYDIS_MNEMONIC_JNLE,
                ZYDIS_MNEMONIC_JNO, ZYDIS_MNEMONIC_JNP, ZYDIS_MNEMONIC_JNS, ZYDIS_MNEMONIC_JNZ,
                ZYDIS_MNEMONIC_JO, ZYDIS_MNEMONIC_JP, ZYDIS_MNEMONIC_JS, ZYDIS_MNEMONIC_JZ})
    t[m] = Jcc;
  t[ZYDIS_MNEMONIC_LOOP] = t[ZYDIS_MNEMONIC_LOOPE] = t[ZYDIS_MNEMONIC_LOOPNE] = LOOP;
  t[ZYDIS_MNEMONIC_JCXZ] = t[ZYDIS_MNEMONIC_JECXZ] = t[ZYDIS_MNEMONIC_JRCXZ] = JCXZ;
  t[ZYDIS_MNEMONIC_INT] = INT;
  t[ZYDIS_MNEMONIC_INT3] = INT3;
  t[ZYDIS_MNEMONIC_INTO] = INTO;
  t[ZYDIS_MNEMONIC_INT1] = INT1;
  t[ZYDIS_MNEMONIC_IRET] = t[ZYDIS_MNEMONIC_IRETD] = t[ZYDIS_MNEMONIC_IRETQ] = IRET;
  t[ZYDIS_MNEMONIC_UD0] = t[ZYDIS_MNEMONIC_UD1] = t[ZYDIS_MNEMONIC_UD2] = UD;
}

}  // namespace vessel::engine::emu::interp
