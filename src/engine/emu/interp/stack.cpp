// Stack instructions (SDM Vol. 1 §6.2-6.5, §7.3.1.4; Vol. 2 PUSH, POP, PUSHF, POPF, PUSHA,
// POPA, ENTER, LEAVE).
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

void PUSH(Cpu& c, const DecodedInst& in) {
  const Operand& op = in.ops[0];
  const unsigned size = in.opsize;
  if (op.kind == OpKind::kSeg) {
    // Recent Intel cores write only the 16-bit selector, leaving the rest of the slot
    // (SDM Vol. 2B PUSH, operation notes).
    const unsigned ss = c.stack_size();
    const uint64_t mask = ss == 8 ? ~0ull : ss == 4 ? 0xffffffffull : 0xffffull;
    const uint64_t rsp = (c.st.gpr[kRsp] - size) & mask;
    c.write(kSs, rsp, 2, c.st.seg[op.reg].selector);
    c.st.gpr[kRsp] = (c.st.gpr[kRsp] & ~mask) | rsp;
    return;
  }
  c.push(read_op_sized(c, in, 0, size), size);  // PUSH RSP pushes the old value
}

void POP(Cpu& c, const DecodedInst& in) {
  const Operand& op = in.ops[0];
  const unsigned size = in.opsize;
  if (op.kind == OpKind::kSeg) {
    const uint64_t saved = c.st.gpr[kRsp];
    const uint16_t sel = static_cast<uint16_t>(c.pop(size));
    try {
      c.load_segment(op.reg, sel);
    } catch (const GuestFault&) {
      c.st.gpr[kRsp] = saved;
      throw;
    }
    if (op.reg == kSs) c.st.events.interrupt_shadow = true;
    return;
  }
  if (op.kind == OpKind::kMem) {
    // The address is computed after RSP is incremented (SDM Vol. 2B POP).
    const uint64_t saved = c.st.gpr[kRsp];
    const uint64_t v = c.pop(size);
    try {
      write_op(c, in, 0, v);
    } catch (const GuestFault&) {
      c.st.gpr[kRsp] = saved;
      throw;
    }
    return;
  }
  const uint64_t v = c.pop(size);
  set_gpr(c, op.reg, size, v);
}

void PUSHF(Cpu& c, const DecodedInst& in) {
  if ((c.st.rflags & rflags::kVM) && ((c.st.rflags >> 12) & 3) < 3) raise(vec::kGP, 0);
  c.push(c.st.rflags & ~(rflags::kVM | rflags::kRF), in.opsize);
}

void POPF(Cpu& c, const DecodedInst& in) {
  if ((c.st.rflags & rflags::kVM) && ((c.st.rflags >> 12) & 3) < 3) raise(vec::kGP, 0);
  const unsigned size = in.opsize;
  const uint64_t v = c.pop(size);
  uint64_t mask = rflags::kCF | rflags::kPF | rflags::kAF | rflags::kZF | rflags::kSF |
                  rflags::kTF | rflags::kDF | rflags::kOF | rflags::kNT;
  if (size >= 4) mask |= rflags::kAC | rflags::kID;
  const unsigned cpl = c.cpl(), iopl = (c.st.rflags >> 12) & 3;
  if (cpl <= iopl) mask |= rflags::kIF;
  if (cpl == 0) mask |= rflags::kIOPL;
  c.st.rflags = (c.st.rflags & ~(mask | rflags::kRF)) | (v & mask) | rflags::kReserved1;
  c.end_block = true;  // IF may have changed: let the run loop look at interrupts
}

void PUSHA(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.opsize;
  const uint64_t sp = c.st.gpr[kRsp];
  c.probe_write(kSs, (c.rsp_masked() - 8 * size) & size_mask(c.stack_size()), 8 * size);
  for (int r : {kRax, kRcx, kRdx, kRbx}) c.push(c.st.gpr[r], size);
  c.push(sp, size);
  for (int r : {kRbp, kRsi, kRdi}) c.push(c.st.gpr[r], size);
}

void POPA(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.opsize;
  uint64_t v[8];
  const uint64_t base = c.rsp_masked();
  for (int i = 0; i < 8; ++i)
    v[i] = c.read(kSs, (base + i * size) & size_mask(c.stack_size()), size);
  // Order on the stack: DI SI BP (SP skipped) BX DX CX AX.
  const int regs[8] = {kRdi, kRsi, kRbp, -1, kRbx, kRdx, kRcx, kRax};
  for (int i = 0; i < 8; ++i)
    if (regs[i] >= 0) set_gpr(c, static_cast<uint8_t>(regs[i]), size, v[i]);
  const unsigned ss = c.stack_size();
  const uint64_t mask = size_mask(ss);
  c.st.gpr[kRsp] = (c.st.gpr[kRsp] & ~mask) | ((base + 8 * size) & mask);
}

void ENTER(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.opsize, ss = c.stack_size();
  const uint64_t alloc = static_cast<uint64_t>(in.ops[0].value) & 0xffff;
  const unsigned level = static_cast<unsigned>(in.ops[1].value) & 31;
  const uint64_t smask = size_mask(ss);
  const uint64_t saved_rsp = c.st.gpr[kRsp], saved_rbp = c.st.gpr[kRbp];
  try {
    c.push(c.st.gpr[kRbp], size);
    const uint64_t frame = c.rsp_masked();
    for (unsigned i = 1; i < level; ++i) {
      const uint64_t bp = (c.st.gpr[kRbp] - i * size) & size_mask(ss);
      c.push(c.read(kSs, bp, size), size);
    }
    if (level > 0) c.push(frame, size);
    const uint64_t new_rsp = (c.rsp_masked() - alloc) & smask;
    c.probe_write(kSs, new_rsp, 1);
    set_gpr(c, kRbp, size, frame);
    c.st.gpr[kRsp] = (c.st.gpr[kRsp] & ~smask) | new_rsp;
  } catch (const GuestFault&) {
    c.st.gpr[kRsp] = saved_rsp;
    c.st.gpr[kRbp] = saved_rbp;
    throw;
  }
}

void LEAVE(Cpu& c, const DecodedInst& in) {
  const unsigned ss = c.stack_size();
  const uint64_t smask = size_mask(ss);
  const uint64_t saved = c.st.gpr[kRsp];
  c.st.gpr[kRsp] = (c.st.gpr[kRsp] & ~smask) | (c.st.gpr[kRbp] & smask);
  try {
    set_gpr(c, kRbp, in.opsize, c.pop(in.opsize));
  } catch (const GuestFault&) {
    c.st.gpr[kRsp] = saved;
    throw;
  }
}

}  // namespace

void register_stack(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_PUSH] = PUSH;
  t[ZYDIS_MNEMONIC_POP] = POP;
  t[ZYDIS_MNEMONIC_PUSHF] = t[ZYDIS_MNEMONIC_PUSHFD] = t[ZYDIS_MNEMONIC_PUSHFQ] = PUSHF;
  t[ZYDIS_MNEMONIC_POPF] = t[ZYDIS_MNEMONIC_POPFD] = t[ZYDIS_MNEMONIC_POPFQ] = POPF;
  t[ZYDIS_MNEMONIC_PUSHA] = t[ZYDIS_MNEMONIC_PUSHAD] = PUSHA;
  t[ZYDIS_MNEMONIC_POPA] = t[ZYDIS_MNEMONIC_POPAD] = POPA;
  t[ZYDIS_MNEMONIC_ENTER] = ENTER;
  t[ZYDIS_MNEMONIC_LEAVE] = LEAVE;
}

}  // namespace vessel::engine::emu::interp
