// Generator: seeded, reproducible random test cases. A case is a short sequence of
// general-purpose instructions (ALU, shifts and rotates, MUL/IMUL/DIV/IDIV with guarded
// divisors, BT*, BSF/BSR/POPCNT/LZCNT, CMOVcc/SETcc, LEA, MOV*, XCHG/XADD/CMPXCHG, PUSH/POP,
// string instructions with small counts, BSWAP, CBW..CQO, flag instructions, forward Jcc)
// on registers and the scratch page, with random registers, flags and memory. A few cases
// deliberately end in #DE. Case `id` alone determines the case: make_case(id) reproduces it.
#pragma once

#include <cstdint>

#include "test_case.hpp"

namespace vessel::difftest {

// The id of the `index`-th case of a run started with `seed`.
uint64_t case_id(uint64_t seed, uint64_t index);

TestCase make_case(uint64_t id);

}  // namespace vessel::difftest
