#include "engine/emu/jit/flag_liveness.hpp"

#include <Zydis/Mnemonic.h>

namespace vessel::engine::emu::jit {

namespace {

constexpr uint32_t kAll = 0x8d5;  // OF SF ZF AF PF CF
constexpr uint32_t kCF = 1, kOF = 0x800;

// What a register-only instruction does to the arithmetic flags.
struct Effect {
  bool transparent = false;  // a plain register-only operation (else: all live around it)
  uint32_t reads = 0;
  uint32_t writes = 0;  // always written (a conditional write kills nothing)
  // Written with values that may depend on the incoming flags (the host's undefined ones):
  // when one of these is live after, every flag is live before.
  uint32_t from_incoming = 0;
};

// Only GPRs (not AH..BH) and immediates: the forms the native translators take. LEA's memory
// operand is only an address, NOP's not even that.
bool register_only(const x86::DecodedInst& in) {
  for (unsigned i = 0; i < in.num_operands; ++i) {
    const x86::Operand& op = in.ops[i];
    const bool ok = (op.kind == x86::OpKind::kGpr && op.reg < 16) || op.kind == x86::OpKind::kImm ||
                    (op.kind == x86::OpKind::kMem &&
                     (in.op == ZYDIS_MNEMONIC_LEA || in.op == ZYDIS_MNEMONIC_NOP));
    if (!ok) return false;
  }
  return true;
}

Effect effect_of(const x86::DecodedInst& in) {
  Effect e;
  if ((in.prefixes & x86::prefix::kLock) || (in.flags & x86::iflag::kEndsBlock) ||
      !register_only(in))
    return e;
  switch (in.op) {
    case ZYDIS_MNEMONIC_MOV:
    case ZYDIS_MNEMONIC_MOVZX:
    case ZYDIS_MNEMONIC_MOVSX:
    case ZYDIS_MNEMONIC_MOVSXD:
    case ZYDIS_MNEMONIC_LEA:
    case ZYDIS_MNEMONIC_NOP:
    case ZYDIS_MNEMONIC_NOT:
    case ZYDIS_MNEMONIC_BSWAP:
    case ZYDIS_MNEMONIC_CBW:
    case ZYDIS_MNEMONIC_CWDE:
    case ZYDIS_MNEMONIC_CDQE:
    case ZYDIS_MNEMONIC_CWD:
    case ZYDIS_MNEMONIC_CDQ:
    case ZYDIS_MNEMONIC_CQO:
      e.transparent = true;
      break;
    case ZYDIS_MNEMONIC_ADC:
    case ZYDIS_MNEMONIC_SBB:
      e.transparent = true;
      e.reads = kCF;
      e.writes = kAll;
      break;
    case ZYDIS_MNEMONIC_ADD:
    case ZYDIS_MNEMONIC_OR:
    case ZYDIS_MNEMONIC_AND:
    case ZYDIS_MNEMONIC_SUB:
    case ZYDIS_MNEMONIC_XOR:
    case ZYDIS_MNEMONIC_CMP:
    case ZYDIS_MNEMONIC_TEST:
    case ZYDIS_MNEMONIC_NEG:
      e.transparent = true;
      e.writes = kAll;
      break;
    case ZYDIS_MNEMONIC_IMUL:
    case ZYDIS_MNEMONIC_MUL:
      e.transparent = true;
      e.writes = kAll;
      // One operand: SF/ZF/AF/PF undefined, taken from the host run on the guest's flags.
      if (in.num_operands == 1) e.from_incoming = kAll & ~(kCF | kOF);
      break;
    case ZYDIS_MNEMONIC_INC:
    case ZYDIS_MNEMONIC_DEC:
      e.transparent = true;
      e.writes = kAll & ~kCF;
      break;
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR:
      e.transparent = true;
      // By an immediate the count is known (0 is never translated natively); by CL a count
      // of 0 leaves the flags alone, so the write kills nothing.
      if (in.num_operands > 1 && in.ops[1].kind == x86::OpKind::kImm) e.writes = kAll;
      break;
    case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR:
      e.transparent = true;
      if (in.num_operands > 1 && in.ops[1].kind == x86::OpKind::kImm) e.writes = kCF | kOF;
      break;
    default:
      if (in.opcode_map == 1 && ((in.opcode & 0xf0) == 0x40 || (in.opcode & 0xf0) == 0x90)) {
        e.transparent = true;  // CMOVcc (0F 4x), SETcc (0F 9x): read the condition flags
        e.reads = kAll;
      }
      break;
  }
  return e;
}

}  // namespace

FlagPlan plan_flags(std::span<const x86::DecodedInst> insts) {
  FlagPlan p;
  p.live_out.resize(insts.size());
  p.assumed_native.resize(insts.size());
  uint32_t live = kAll;  // at the block's end
  for (size_t i = insts.size(); i-- > 0;) {
    const Effect e = effect_of(insts[i]);
    p.live_out[i] = e.transparent ? live : kAll;
    p.assumed_native[i] = e.transparent;
    if (!e.transparent || (live & e.from_incoming))
      live = kAll;
    else
      live = (live & ~e.writes) | e.reads;
  }
  return p;
}

}  // namespace vessel::engine::emu::jit
