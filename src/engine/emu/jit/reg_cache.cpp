#include "engine/emu/jit/reg_cache.hpp"

#include <Zydis/Mnemonic.h>

#include "arch/x86/cpu_state.hpp"

namespace vessel::engine::emu::jit {

namespace {

void count_operand(const x86::Operand& op, std::array<unsigned, 16>& n) {
  if (op.kind == x86::OpKind::kGpr && op.reg < 20) {
    ++n[op.reg < 16 ? op.reg : op.reg - 16];  // AH..BH are bits 15:8 of RAX..RBX
  } else if (op.kind == x86::OpKind::kMem) {
    if (op.base < 16) ++n[op.base];
    if (op.index < 16) ++n[op.index];
  }
}

// The implicit operands of the natively translated forms.
void count_implicit(const x86::DecodedInst& in, std::array<unsigned, 16>& n) {
  switch (in.op) {
    case ZYDIS_MNEMONIC_PUSH:
    case ZYDIS_MNEMONIC_POP:
    case ZYDIS_MNEMONIC_CALL:
    case ZYDIS_MNEMONIC_RET:
      ++n[arch::kRsp];
      break;
    case ZYDIS_MNEMONIC_MUL:
    case ZYDIS_MNEMONIC_IMUL:
      if (in.num_operands == 1) {
        ++n[arch::kRax];
        ++n[arch::kRdx];
      }
      break;
    case ZYDIS_MNEMONIC_DIV:
    case ZYDIS_MNEMONIC_IDIV:
    case ZYDIS_MNEMONIC_CWD:
    case ZYDIS_MNEMONIC_CDQ:
    case ZYDIS_MNEMONIC_CQO:
      ++n[arch::kRax];
      ++n[arch::kRdx];
      break;
    case ZYDIS_MNEMONIC_CMPXCHG:
    case ZYDIS_MNEMONIC_CBW:
    case ZYDIS_MNEMONIC_CWDE:
    case ZYDIS_MNEMONIC_CDQE:
      ++n[arch::kRax];
      break;
    case ZYDIS_MNEMONIC_PUSHFQ:
      ++n[arch::kRsp];
      break;
    default:
      break;
  }
}

}  // namespace

std::array<unsigned, 16> gpr_references(std::span<const x86::DecodedInst> insts) {
  std::array<unsigned, 16> n{};
  for (const x86::DecodedInst& in : insts) {
    for (unsigned i = 0; i < in.num_operands && i < 3; ++i) count_operand(in.ops[i], n);
    count_implicit(in, n);
  }
  return n;
}

RegCache choose_cached_gprs(std::span<const x86::DecodedInst> insts) {
  std::array<unsigned, 16> n = gpr_references(insts);
  RegCache c;
  // Selection rather than a sort: a handful of picks from 16, no allocation (this runs for
  // every block translated).
  for (unsigned i = 0; i < kCacheRegs; ++i) {
    unsigned best = 0;
    for (unsigned r = 1; r < 16; ++r)
      if (n[r] > n[best]) best = r;  // strictly more: ties go to the lower number
    if (n[best] < 2) break;
    c.host[best] = static_cast<int8_t>(i);
    c.mask = static_cast<uint16_t>(c.mask | 1u << best);
    c.count = i + 1;
    n[best] = 0;
  }
  return c;
}

}  // namespace vessel::engine::emu::jit
