// Assembler: appends 64-bit instructions (encoded by Zydis's encoder, or given as bytes) to a
// code buffer while tracking which status flags are architecturally undefined at this point
// ("taint"), so the generator can define them before an instruction that would read them.
#pragma once

#include <Zydis/Encoder.h>

#include <cstdint>
#include <vector>

#include "flag_table.hpp"

namespace vessel::difftest {

// Zydis register for GPR `index` (0-15, Intel numbering) of `bytes` size; `high8` picks
// AH/CH/DH/BH for index 0-3.
ZydisRegister gpr_reg(unsigned bytes, unsigned index, bool high8 = false);

ZydisEncoderOperand reg_op(ZydisRegister r);
ZydisEncoderOperand imm_op(int64_t v);
// [base + disp] (base ZYDIS_REGISTER_NONE: absolute disp32) of `bytes` size.
ZydisEncoderOperand mem_op(unsigned bytes, ZydisRegister base, int64_t disp,
                           ZydisRegister index = ZYDIS_REGISTER_NONE, uint8_t scale = 0);

class Assembler {
 public:
  std::vector<uint8_t> code;
  uint64_t taint = 0;  // status flags currently undefined

  // Encodes and appends; false (nothing appended) when Zydis cannot encode the request.
  bool emit(ZydisMnemonic m, std::initializer_list<ZydisEncoderOperand> ops, FlagEffect fx,
            ZyanU64 prefixes = 0);
  void emit_raw(std::initializer_list<uint8_t> bytes, FlagEffect fx);
  void append(const Assembler& other) {
    code.insert(code.end(), other.code.begin(), other.code.end());
  }
  void apply(FlagEffect fx) { taint = (taint & ~fx.defined) | fx.undefined; }
};

}  // namespace vessel::difftest
