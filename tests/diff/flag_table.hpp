// Which status flags each generated instruction reads, defines and leaves architecturally
// undefined (SDM Vol. 1 Appendix A, Table A-2, and each instruction's "Flags Affected" in
// Vol. 2). The generator uses it to never let a later instruction consume an undefined flag,
// and the comparison masks flags still undefined at the end of a sequence.
#pragma once

#include <Zydis/Mnemonic.h>

#include <cstdint>
#include <optional>

namespace vessel::difftest {

namespace flag {
inline constexpr uint64_t kCF = 0x1, kPF = 0x4, kAF = 0x10, kZF = 0x40, kSF = 0x80, kOF = 0x800,
                          kAll = kCF | kPF | kAF | kZF | kSF | kOF;
}

struct FlagEffect {
  uint64_t reads = 0;      // flags the instruction's result depends on
  uint64_t defined = 0;    // flags it always sets to a defined value
  uint64_t undefined = 0;  // flags it may leave undefined
};

// `bits` is the operand size in bits; `count` the shift/rotate count when it is known
// statically (an immediate or a CL loaded just before), std::nullopt for an unknown CL.
FlagEffect flag_effect(ZydisMnemonic m, unsigned bits, std::optional<unsigned> count = {});

// The flags condition code `cc` (0-15, the low nibble of Jcc/SETcc/CMOVcc) tests.
uint64_t condition_reads(unsigned cc);

}  // namespace vessel::difftest
