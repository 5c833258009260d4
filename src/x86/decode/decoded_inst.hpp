// DecodedInst: one x86 instruction in a normalized, pre-decoded form. The decoder (Zydis
// underneath) produces it once per guest instruction; the interpreter executes it and a later
// translator can lower it to IR. It holds no host pointers and no engine types, so it can be
// cached per guest-physical code block and shared by any consumer.
//
// It is not a full disassembly: only what execution needs (operation id, explicit operands in
// Intel order, sizes, prefixes, length). Implicit operands (RSP for PUSH, RSI/RDI for string
// instructions, RDX:RAX for MUL) are the handler's business, as in the SDM's pseudo-code.
#pragma once

#include <cstdint>

namespace vessel::x86 {

enum class OpKind : uint8_t {
  kNone,
  kGpr,     // reg: 0-15, or 16-19 for AH/CH/DH/BH (bits 15:8 of RAX..RBX)
  kSeg,     // reg: arch::SegIndex order (ES CS SS DS FS GS)
  kCr,      // reg: control register number
  kDr,      // reg: debug register number
  kXmm,     // reg: 0-15
  kMmx,     // reg: 0-7
  kSt,      // reg: x87 stack index ST(i)
  kMem,     // seg + base + index*scale + disp, wrapped to the address size
  kImm,     // value (sign-extended to 64 bits when the encoding is signed)
  kRel,     // value: displacement from the next instruction's address
  kFarPtr,  // ptr16:16/32: value = offset, far_selector = selector
};

inline constexpr uint8_t kNoReg = 0xff;
inline constexpr uint8_t kRipReg = 16;  // mem.base == kRipReg: RIP-relative

struct Operand {
  OpKind kind = OpKind::kNone;
  uint8_t size = 0;  // bytes (0 for operands without a size, e.g. LEA's memory)
  uint8_t reg = kNoReg;
  uint8_t seg = 0;            // kMem: effective segment (default or override), SegIndex
  uint8_t base = kNoReg;      // kMem
  uint8_t index = kNoReg;     // kMem
  uint8_t scale = 0;          // kMem: 1, 2, 4, 8 (0 when no index)
  uint16_t far_selector = 0;  // kFarPtr
  int64_t value = 0;          // kMem: displacement; kImm/kRel/kFarPtr: see above
};

namespace prefix {
inline constexpr uint8_t kLock = 1, kRep = 2, kRepne = 4, kSegOverride = 8, kOpSize = 16,
                         kAddrSize = 32, kRex = 64;
}

// Properties the executor needs about control flow.
namespace iflag {
inline constexpr uint8_t kEndsBlock = 1,  // changes RIP, mode or interrupt state
    kBranch = 2;                          // a (conditional) relative/indirect branch
}

struct DecodedInst {
  uint16_t op = 0;       // handler id: the Zydis mnemonic (ZydisMnemonic)
  uint8_t length = 0;    // bytes
  uint8_t opsize = 0;    // effective operand size in bytes (2, 4, 8)
  uint8_t addrsize = 0;  // effective address size in bytes (2, 4, 8)
  uint8_t prefixes = 0;  // prefix:: bits
  uint8_t flags = 0;     // iflag:: bits
  uint8_t num_operands = 0;
  uint8_t opcode = 0;      // last opcode byte (distinguishes forms sharing a mnemonic)
  uint8_t opcode_map = 0;  // 0 = one-byte map, 1 = 0F, 2 = 0F38, 3 = 0F3A
  uint8_t modrm = 0;
  uint8_t mandatory_prefix = 0;   // 0, 0x66, 0xF2, 0xF3 (for SSE forms)
  uint8_t seg_override = kNoReg;  // segment prefix (SegIndex), for implicit memory operands
  Operand ops[3];
};

// The decoding mode: what changes how the same bytes decode (SDM Vol. 3A §5.2.1: CS.L, CS.D
// with EFER.LMA). Part of the code-cache key.
enum class CodeMode : uint8_t { k16 = 0, k32 = 1, k64 = 2 };

}  // namespace vessel::x86
