// The hand-written corpus: cases chosen for the corners random sequences rarely hit (flags
// after shifts by 0 and by the operand width or more, ADC/SBB with carry in, IMUL overflow,
// BSF/BSR of 0, AH..BH, 32-bit writes zeroing the upper half, CMOVcc not taken, ...).
#pragma once

#include <vector>

#include "test_case.hpp"

namespace vessel::difftest {

std::vector<TestCase> corpus_cases();

}  // namespace vessel::difftest
