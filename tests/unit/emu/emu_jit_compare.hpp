// The translator against the interpreter (shared by the emu_jit tests): a snippet runs from
// the same random registers, flags and memory in both engines, and must leave the same state
// (registers, RIP, flags, memory, the stop reason; faults go to a HLT handler, so a fault's
// frame on the stack is compared too).
#pragma once

#include <random>
#include <string>
#include <vector>

#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {

using namespace arch;

inline constexpr uint64_t kData = 0x300000;        // rbx points here in every case
inline constexpr uint64_t kUnmapped = 0x40000000;  // beyond the 1 GiB identity map

struct Outcome {
  StopReason stop;
  CpuState st;
  std::vector<uint8_t> data, stack;
  uint64_t native;
  std::string stats;  // Cpu::exec_stats (the most frequent fallbacks)
};

inline Outcome run_one(ExecMode mode, const std::vector<uint8_t>& code, uint64_t seed) {
  Env e;
  e.cpu.set_exec_mode(mode);
  e.cpu.set_jit_threshold(0);
  e.long_mode(kCode);
  e.set_gate(vec::kPF, kHandlers);
  e.set_gate(vec::kGP, kHandlers);
  e.set_gate(vec::kDE, kHandlers);
  e.set_gate(vec::kUD, kHandlers);
  e.set_gate(vec::kNM, kHandlers);
  e.load(kHandlers, {0xf4});  // hlt
  e.load(kCode, code);
  std::mt19937_64 rng(seed);
  for (uint64_t i = 0; i < 64; ++i) e.poke<uint8_t>(kData + i, static_cast<uint8_t>(rng()));
  auto& s = e.st();
  for (int r = 0; r < 16; ++r) s.gpr[r] = rng();
  s.gpr[kRcx] &= 0xff;  // shift counts 0..255, small indexes
  s.gpr[kRsp] = kStack;
  s.gpr[kRbx] = kData;
  s.gpr[kR10] = kUnmapped;
  s.rflags = rflags::kReserved1 | (rng() & 0x8d5);
  s.cr4 |= cr4::kOSFXSR;  // SSE usable
  Outcome o;
  o.stop = e.cpu.run(1000);
  o.st = e.cpu.state();
  for (uint64_t i = 0; i < 64; ++i) o.data.push_back(e.peek<uint8_t>(kData + i));
  for (uint64_t i = 0; i < 64; ++i) o.stack.push_back(e.peek<uint8_t>(kStack - 64 + i));
  o.native = e.cpu.jit_native_instructions();
  o.stats = e.cpu.exec_stats();
  return o;
}

inline void expect_same(const std::string& src, int seeds = 12) {
  SCOPED_TRACE(src);
  const auto code = assemble(64, src + "\nhlt", kCode);
  for (int seed = 1; seed <= seeds; ++seed) {
    const Outcome a = run_one(ExecMode::kInterp, code, seed);
    const Outcome b = run_one(ExecMode::kJit, code, seed);
    SCOPED_TRACE("seed " + std::to_string(seed));
    EXPECT_EQ(a.stop, b.stop);
    for (int r = 0; r < 16; ++r) EXPECT_EQ(a.st.gpr[r], b.st.gpr[r]) << "gpr " << r;
    EXPECT_EQ(a.st.rip, b.st.rip);
    EXPECT_EQ(a.st.rflags, b.st.rflags);
    EXPECT_EQ(a.st.cr2, b.st.cr2);
    EXPECT_EQ(a.st.fpu.xmm, b.st.fpu.xmm);
    EXPECT_EQ(a.data, b.data);
    EXPECT_EQ(a.stack, b.stack);
    EXPECT_GT(b.native, 0u) << "nothing was translated natively";
  }
}

}  // namespace vessel::engine::emu::test
