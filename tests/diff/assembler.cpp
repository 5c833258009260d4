#include "assembler.hpp"

#include <cstring>

namespace vessel::difftest {

ZydisRegister gpr_reg(unsigned bytes, unsigned index, bool high8) {
  switch (bytes) {
    case 1:
      if (high8) return static_cast<ZydisRegister>(ZYDIS_REGISTER_AH + (index & 3));
      return static_cast<ZydisRegister>(index < 4 ? ZYDIS_REGISTER_AL + index
                                                  : ZYDIS_REGISTER_SPL + (index - 4));
    case 2:
      return static_cast<ZydisRegister>(ZYDIS_REGISTER_AX + index);
    case 4:
      return static_cast<ZydisRegister>(ZYDIS_REGISTER_EAX + index);
    default:
      return static_cast<ZydisRegister>(ZYDIS_REGISTER_RAX + index);
  }
}

ZydisEncoderOperand reg_op(ZydisRegister r) {
  ZydisEncoderOperand o;
  std::memset(&o, 0, sizeof o);
  o.type = ZYDIS_OPERAND_TYPE_REGISTER;
  o.reg.value = r;
  return o;
}

ZydisEncoderOperand imm_op(int64_t v) {
  ZydisEncoderOperand o;
  std::memset(&o, 0, sizeof o);
  o.type = ZYDIS_OPERAND_TYPE_IMMEDIATE;
  o.imm.s = v;
  return o;
}

ZydisEncoderOperand mem_op(unsigned bytes, ZydisRegister base, int64_t disp, ZydisRegister index,
                           uint8_t scale) {
  ZydisEncoderOperand o;
  std::memset(&o, 0, sizeof o);
  o.type = ZYDIS_OPERAND_TYPE_MEMORY;
  o.mem.base = base;
  o.mem.index = index;
  o.mem.scale = index == ZYDIS_REGISTER_NONE ? 0 : scale;
  o.mem.displacement = disp;
  o.mem.size = static_cast<ZyanU16>(bytes);
  return o;
}

bool Assembler::emit(ZydisMnemonic m, std::initializer_list<ZydisEncoderOperand> ops, FlagEffect fx,
                     ZyanU64 prefixes) {
  ZydisEncoderRequest req;
  std::memset(&req, 0, sizeof req);
  req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
  req.mnemonic = m;
  req.prefixes = prefixes;
  req.operand_count = static_cast<ZyanU8>(ops.size());
  size_t i = 0;
  for (const auto& o : ops) req.operands[i++] = o;
  ZyanU8 buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
  ZyanUSize len = sizeof buf;
  if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, &len))) return false;
  code.insert(code.end(), buf, buf + len);
  apply(fx);
  return true;
}

void Assembler::emit_raw(std::initializer_list<uint8_t> bytes, FlagEffect fx) {
  code.insert(code.end(), bytes);
  apply(fx);
}

}  // namespace vessel::difftest
