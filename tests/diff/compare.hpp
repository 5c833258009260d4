// Comparison of two outcomes of one test case: every GPR, RIP, the status flags and DF
// (flags left architecturally undefined at the end masked), the exception vector when the case
// faulted, and the scratch and stack pages. On a difference it renders a report a person can
// act on: the disassembled sequence, the initial state and each differing field.
#pragma once

#include <string>

#include "test_case.hpp"

namespace vessel::difftest {

// Empty when the outcomes agree; otherwise one line per differing field.
std::string differences(const TestCase& tc, const Outcome& expected, const Outcome& got);

// The case as text: id, disassembly, initial registers, flags and undefined-flag mask.
std::string describe(const TestCase& tc);

}  // namespace vessel::difftest
