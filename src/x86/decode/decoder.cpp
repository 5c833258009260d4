#include "x86/decode/decoder.hpp"

#include <Zydis/Zydis.h>

namespace vessel::x86 {
namespace {

// Maps a Zydis register to our operand form; false for registers we do not model.
bool map_register(ZydisRegister r, Operand& op) {
  const int id = ZydisRegisterGetId(r);
  switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_GPR8:
      // Zydis GPR8 order: AL CL DL BL AH CH DH BH SPL BPL SIL DIL R8B..R15B.
      op.kind = OpKind::kGpr;
      op.reg = id < 4 ? id : id < 8 ? 16 + (id - 4) : id - 4;
      return true;
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64:
      op.kind = OpKind::kGpr;
      op.reg = static_cast<uint8_t>(id);
      return true;
    case ZYDIS_REGCLASS_SEGMENT:
      op.kind = OpKind::kSeg;  // Zydis order ES CS SS DS FS GS matches arch::SegIndex
      op.reg = static_cast<uint8_t>(id);
      return true;
    case ZYDIS_REGCLASS_CONTROL:
      op.kind = OpKind::kCr;
      op.reg = static_cast<uint8_t>(id);
      return true;
    case ZYDIS_REGCLASS_DEBUG:
      op.kind = OpKind::kDr;
      op.reg = static_cast<uint8_t>(id);
      return true;
    case ZYDIS_REGCLASS_XMM:
      op.kind = OpKind::kXmm;
      op.reg = static_cast<uint8_t>(id);
      return true;
    case ZYDIS_REGCLASS_MMX:
      op.kind = OpKind::kMmx;
      op.reg = static_cast<uint8_t>(id);
      return true;
    case ZYDIS_REGCLASS_X87:
      op.kind = OpKind::kSt;
      op.reg = static_cast<uint8_t>(id);
      return true;
    default:
      return false;
  }
}

uint8_t gpr_index(ZydisRegister r) {
  if (r == ZYDIS_REGISTER_NONE) return kNoReg;
  if (r == ZYDIS_REGISTER_RIP || r == ZYDIS_REGISTER_EIP || r == ZYDIS_REGISTER_IP) return kRipReg;
  return static_cast<uint8_t>(ZydisRegisterGetId(r));
}

bool map_operand(const ZydisDecodedOperand& z, Operand& op) {
  op.size = static_cast<uint8_t>(z.size / 8);
  switch (z.type) {
    case ZYDIS_OPERAND_TYPE_REGISTER:
      return map_register(z.reg.value, op);
    case ZYDIS_OPERAND_TYPE_MEMORY:
      op.kind = OpKind::kMem;
      op.seg = static_cast<uint8_t>(ZydisRegisterGetId(z.mem.segment));
      op.base = gpr_index(z.mem.base);
      op.index = gpr_index(z.mem.index);
      op.scale = op.index == kNoReg ? 0 : z.mem.scale;
      op.value = z.mem.disp.has_displacement ? z.mem.disp.value : 0;
      return true;
    case ZYDIS_OPERAND_TYPE_IMMEDIATE:
      op.kind = z.imm.is_relative ? OpKind::kRel : OpKind::kImm;
      op.value = z.imm.is_signed ? z.imm.value.s : static_cast<int64_t>(z.imm.value.u);
      return true;
    case ZYDIS_OPERAND_TYPE_POINTER:
      op.kind = OpKind::kFarPtr;
      op.far_selector = z.ptr.segment;
      op.value = z.ptr.offset;
      return true;
    default:
      return false;
  }
}

bool ends_block(const ZydisDecodedInstruction& z, const DecodedInst& d) {
  switch (z.meta.category) {
    case ZYDIS_CATEGORY_COND_BR:
    case ZYDIS_CATEGORY_UNCOND_BR:
    case ZYDIS_CATEGORY_CALL:
    case ZYDIS_CATEGORY_RET:
    case ZYDIS_CATEGORY_INTERRUPT:
    case ZYDIS_CATEGORY_SYSCALL:
    case ZYDIS_CATEGORY_SYSRET:
    case ZYDIS_CATEGORY_SYSTEM:
      return true;
    default:
      break;
  }
  switch (z.mnemonic) {
    case ZYDIS_MNEMONIC_POPF:
    case ZYDIS_MNEMONIC_POPFD:
    case ZYDIS_MNEMONIC_POPFQ:
    case ZYDIS_MNEMONIC_STI:
    case ZYDIS_MNEMONIC_LSS:
    case ZYDIS_MNEMONIC_WRMSR:
    case ZYDIS_MNEMONIC_HLT:
    case ZYDIS_MNEMONIC_LOOP:
    case ZYDIS_MNEMONIC_LOOPE:
    case ZYDIS_MNEMONIC_LOOPNE:
    case ZYDIS_MNEMONIC_JCXZ:
    case ZYDIS_MNEMONIC_JECXZ:
    case ZYDIS_MNEMONIC_JRCXZ:
    case ZYDIS_MNEMONIC_UD2:
    case ZYDIS_MNEMONIC_UD0:
    case ZYDIS_MNEMONIC_UD1:
      return true;
    case ZYDIS_MNEMONIC_MOV:
    case ZYDIS_MNEMONIC_POP:
      return d.ops[0].kind == OpKind::kSeg || d.ops[0].kind == OpKind::kCr ||
             d.ops[0].kind == OpKind::kDr;
    default:
      return false;
  }
}

}  // namespace

Decoder::Decoder() {
  ZydisDecoderInit(&decoders_[0], ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16);
  ZydisDecoderInit(&decoders_[1], ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32);
  ZydisDecoderInit(&decoders_[2], ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
}

DecodeStatus Decoder::decode(CodeMode mode, const uint8_t* bytes, size_t available,
                             DecodedInst& out) const {
  const ZydisDecoder* decoder = &decoders_[static_cast<int>(mode)];
  ZydisDecoderContext context;
  ZydisDecodedInstruction z;
  const ZyanStatus st = ZydisDecoderDecodeInstruction(decoder, &context, bytes, available, &z);
  if (st == ZYDIS_STATUS_NO_MORE_DATA)
    return available < 15 ? DecodeStatus::kNeedMore : DecodeStatus::kInvalid;
  if (!ZYAN_SUCCESS(st)) return DecodeStatus::kInvalid;
  // AVX/EVEX and friends are not advertised by our CPUID: they are #UD.
  if (z.encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY &&
      z.encoding != ZYDIS_INSTRUCTION_ENCODING_3DNOW)
    return DecodeStatus::kInvalid;
  out = DecodedInst{};
  out.op = static_cast<uint16_t>(z.mnemonic);
  out.length = z.length;
  out.opsize = static_cast<uint8_t>(z.operand_width / 8);
  out.addrsize = static_cast<uint8_t>(z.address_width / 8);
  out.opcode = z.opcode;
  out.opcode_map = static_cast<uint8_t>(z.opcode_map);
  out.modrm = z.raw.modrm.mod << 6 | z.raw.modrm.reg << 3 | z.raw.modrm.rm;
  const auto a = z.attributes;
  if (a & ZYDIS_ATTRIB_HAS_LOCK) out.prefixes |= prefix::kLock;
  if (a & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE)) out.prefixes |= prefix::kRep;
  if (a & ZYDIS_ATTRIB_HAS_REPNE) out.prefixes |= prefix::kRepne;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT) out.prefixes |= prefix::kSegOverride;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_ES) out.seg_override = 0;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_CS) out.seg_override = 1;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_SS) out.seg_override = 2;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_DS) out.seg_override = 3;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_FS) out.seg_override = 4;
  if (a & ZYDIS_ATTRIB_HAS_SEGMENT_GS) out.seg_override = 5;
  if (a & ZYDIS_ATTRIB_HAS_OPERANDSIZE) out.prefixes |= prefix::kOpSize;
  if (a & ZYDIS_ATTRIB_HAS_ADDRESSSIZE) out.prefixes |= prefix::kAddrSize;
  if (a & ZYDIS_ATTRIB_HAS_REX) out.prefixes |= prefix::kRex;
  for (int i = 0; i < z.raw.prefix_count; ++i) {
    const uint8_t p = z.raw.prefixes[i].value;
    if (z.raw.prefixes[i].type == ZYDIS_PREFIX_TYPE_MANDATORY) out.mandatory_prefix = p;
  }
  // Explicit (visible) operands only, in Intel order: the hidden ones are not even decoded
  // (they cost as much again, and every block executed is decoded).
  const int n = z.operand_count_visible < 3 ? z.operand_count_visible : 3;
  ZydisDecodedOperand zops[3];
  if (n > 0 && !ZYAN_SUCCESS(
                   ZydisDecoderDecodeOperands(decoder, &context, &z, zops, static_cast<ZyanU8>(n))))
    return DecodeStatus::kInvalid;
  for (int i = 0; i < n; ++i)
    if (!map_operand(zops[i], out.ops[i])) return DecodeStatus::kInvalid;
  out.num_operands = static_cast<uint8_t>(n);
  if (z.meta.category == ZYDIS_CATEGORY_COND_BR || z.meta.category == ZYDIS_CATEGORY_UNCOND_BR)
    out.flags |= iflag::kBranch;
  if (ends_block(z, out)) out.flags |= iflag::kEndsBlock;
  return DecodeStatus::kOk;
}

std::string disassemble(CodeMode mode, const uint8_t* bytes, size_t available, uint64_t address) {
  static constexpr ZydisMachineMode kModes[3] = {
      ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_MACHINE_MODE_LONG_64};
  ZydisDisassembledInstruction insn;
  if (!ZYAN_SUCCESS(
          ZydisDisassembleIntel(kModes[static_cast<int>(mode)], address, bytes, available, &insn)))
    return "(invalid)";
  return insn.text;
}

const char* mnemonic_name(uint16_t op) {
  const char* s = ZydisMnemonicGetString(static_cast<ZydisMnemonic>(op));
  return s ? s : "?";
}

}  // namespace vessel::x86
