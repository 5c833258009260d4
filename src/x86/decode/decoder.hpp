// Decoder: x86 machine code → DecodedInst, with Zydis doing the byte-level work. Pure: it sees
// only the bytes it is given, never guest memory, so the caller decides how code is fetched
// (and what a fetch that crosses a page means).
#pragma once

#include <Zydis/Decoder.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "x86/decode/decoded_inst.hpp"

namespace vessel::x86 {

enum class DecodeStatus {
  kOk,
  kNeedMore,  // the bytes end inside an instruction (it continues on the next page)
  kInvalid,   // not a valid instruction in this mode: #UD
};

class Decoder {
 public:
  Decoder();
  DecodeStatus decode(CodeMode mode, const uint8_t* bytes, size_t available,
                      DecodedInst& out) const;

 private:
  ZydisDecoder decoders_[3];
};

// Intel-syntax text for logs and error messages ("add eax, ebx").
std::string disassemble(CodeMode mode, const uint8_t* bytes, size_t available, uint64_t address);

// The mnemonic's name ("add"), for error messages about unimplemented instructions.
const char* mnemonic_name(uint16_t op);

}  // namespace vessel::x86
