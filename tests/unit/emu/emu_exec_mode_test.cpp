// The software engine's execution settings from the command line and the environment.
#include <gtest/gtest.h>

#include "engine/emu/exec_mode.hpp"

namespace vessel::engine::emu {
namespace {

TEST(EmuExecMode, ParsesTheTwoModes) {
  EXPECT_EQ(parse_exec_mode("interp"), ExecMode::kInterp);
  EXPECT_EQ(parse_exec_mode("jit"), ExecMode::kJit);
  EXPECT_EQ(parse_exec_mode("JIT"), std::nullopt);
  EXPECT_EQ(parse_exec_mode(""), std::nullopt);
}

TEST(EmuExecMode, JitThresholdIsADecimalCountUpToAMillion) {
  EXPECT_EQ(parse_jit_threshold("0"), 0u);
  EXPECT_EQ(parse_jit_threshold("32"), 32u);
  EXPECT_EQ(parse_jit_threshold("1000000"), 1'000'000u);
  for (const char* bad : {"", "-1", "1000001", "12x", " 5", "0x10", "99999999999"})
    EXPECT_EQ(parse_jit_threshold(bad), std::nullopt) << bad;
}

}  // namespace
}  // namespace vessel::engine::emu
