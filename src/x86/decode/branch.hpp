// Classification of control-transfer instructions by mnemonic, shared by the block cache
// (which blocks may be chained) and the translator (which exits may be patched).
#pragma once

#include <Zydis/Mnemonic.h>

#include "x86/decode/decoded_inst.hpp"

namespace vessel::x86 {

// The 16 conditional near jumps (Jcc; not JCXZ/LOOP, which test a counter, not flags).
inline bool is_jcc(uint16_t op) {
  switch (op) {
    case ZYDIS_MNEMONIC_JB:
    case ZYDIS_MNEMONIC_JBE:
    case ZYDIS_MNEMONIC_JL:
    case ZYDIS_MNEMONIC_JLE:
    case ZYDIS_MNEMONIC_JNB:
    case ZYDIS_MNEMONIC_JNBE:
    case ZYDIS_MNEMONIC_JNL:
    case ZYDIS_MNEMONIC_JNLE:
    case ZYDIS_MNEMONIC_JNO:
    case ZYDIS_MNEMONIC_JNP:
    case ZYDIS_MNEMONIC_JNS:
    case ZYDIS_MNEMONIC_JNZ:
    case ZYDIS_MNEMONIC_JO:
    case ZYDIS_MNEMONIC_JP:
    case ZYDIS_MNEMONIC_JS:
    case ZYDIS_MNEMONIC_JZ:
      return true;
    default:
      return false;
  }
}

// A near JMP, CALL or RET (relative or indirect): the code segment, and so the code mode and
// privilege, are the same after it. Far forms (EA/9A, FF /5, FF /3, CA/CB) are not.
inline bool is_near_transfer(const DecodedInst& in) {
  const uint8_t reg = (in.modrm >> 3) & 7;
  switch (in.op) {
    case ZYDIS_MNEMONIC_JMP:
      return in.ops[0].kind != OpKind::kFarPtr && !(in.opcode == 0xff && reg == 5);
    case ZYDIS_MNEMONIC_CALL:
      return in.ops[0].kind != OpKind::kFarPtr && !(in.opcode == 0xff && reg == 3);
    case ZYDIS_MNEMONIC_RET:
      return in.opcode == 0xc3 || in.opcode == 0xc2;
    default:
      return false;
  }
}

// Whether the code segment (so the code mode and privilege) after `last`, a block's last
// instruction, is the one before it: an instruction that does not end a block, or a near
// branch, call, return or loop. Far transfers, interrupts, IRET, SYSCALL/SYSRET and the mode
// and interrupt-state changers all end blocks and do not.
inline bool keeps_code_segment(const DecodedInst& last) {
  if (!(last.flags & iflag::kEndsBlock)) return true;
  switch (last.op) {
    case ZYDIS_MNEMONIC_LOOP:
    case ZYDIS_MNEMONIC_LOOPE:
    case ZYDIS_MNEMONIC_LOOPNE:
    case ZYDIS_MNEMONIC_JCXZ:
    case ZYDIS_MNEMONIC_JECXZ:
    case ZYDIS_MNEMONIC_JRCXZ:
      return true;
    default:
      return is_jcc(last.op) || is_near_transfer(last);
  }
}

}  // namespace vessel::x86
