// The code cache's memory savings must not change what runs: a block whose decoded form was
// dropped (after an all-native translation, or by the sweep of blocks that did not run for a
// while) is decoded again from its page when the interpreter or the translator needs it.
#include "emu_test_util.hpp"

namespace vessel::engine::emu {

struct CpuTestAccess {
  static constexpr uint32_t kSweepPeriod = Cpu::kSweepPeriod;
  static size_t blocks(Cpu& c) { return c.blocks_.size(); }
  static bool cached(Cpu& c, uint64_t gpa) {
    return c.blocks_.find(gpa << 2 | static_cast<uint64_t>(x86::CodeMode::k64)) != nullptr;
  }
  static size_t without_decoded_form(Cpu& c) {
    size_t n = 0;
    c.blocks_.for_each([&](uint64_t, std::unique_ptr<Cpu::Block>& b) { n += !b->insts; });
    return n;
  }
};

namespace test {
namespace {

using namespace arch;

// The loop body is translated at once and is all native code, so its decoded form goes; then
// budgets smaller than the block make the run loop interpret it (decoded again), and the
// instruction count and results stay exact.
TEST(EmuBlockCache, TranslatedBlockIsDecodedAgainForTheInterpreter) {
  Env e;
  e.cpu.set_exec_mode(ExecMode::kJit);
  e.cpu.set_jit_threshold(0);
  e.long_mode(kCode);
  e.load(kCode, assemble(64,
                         "mov ecx, 100\n"
                         "top: add rax, rcx\nadd rdx, 3\ndec ecx\njnz top\n"
                         "hlt",
                         kCode));
  e.st().gpr[kRax] = 0;
  ASSERT_EQ(e.cpu.run(201), StopReason::kInstructionLimit);  // 50 loop iterations
  ASSERT_GT(e.cpu.jit_native_instructions(), 0u);
  EXPECT_GE(CpuTestAccess::without_decoded_form(e.cpu), 1u);
  StopReason r;
  while ((r = e.cpu.run(3)) == StopReason::kInstructionLimit) {
  }
  EXPECT_EQ(r, StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 5050u);
  EXPECT_EQ(e.st().gpr[kRdx], 300u);
  EXPECT_EQ(e.st().gpr[kRcx], 0u);
  EXPECT_EQ(e.cpu.instructions_retired(), 1u + 4 * 100 + 1);
}

// More blocks than two sweep periods, each run once: the first ones lose their decoded form;
// running the whole chain again decodes them anew and gives the same sum.
void run_chain_twice(ExecMode mode) {
  SCOPED_TRACE(mode == ExecMode::kJit ? "jit" : "interp");
  constexpr unsigned kBlocks = 2 * CpuTestAccess::kSweepPeriod + 500;
  std::string src;
  uint64_t sum = 0;
  for (unsigned i = 0; i < kBlocks; ++i) {
    const unsigned v = i % 100 + 1;
    sum += v;
    src += "add rax, " + std::to_string(v) + "\njmp b" + std::to_string(i) + "\nb" +
           std::to_string(i) + ":\n";
  }
  src += "hlt\n";
  Env e;
  e.cpu.set_exec_mode(mode);
  e.long_mode(kCode);
  e.load(kCode, assemble(64, src, kCode));
  e.st().gpr[kRax] = 0;
  ASSERT_EQ(e.cpu.run(10 * kBlocks), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], sum);
  EXPECT_GE(CpuTestAccess::blocks(e.cpu), kBlocks);
  EXPECT_GE(CpuTestAccess::without_decoded_form(e.cpu), CpuTestAccess::kSweepPeriod / 2);
  const uint64_t retired = e.cpu.instructions_retired();
  e.st().rip = kCode;
  e.st().events.halted = false;
  ASSERT_EQ(e.cpu.run(10 * kBlocks), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 2 * sum);
  EXPECT_EQ(e.cpu.instructions_retired(), 2 * retired);
}

TEST(EmuBlockCache, SweptBlocksRunAgain) {
  run_chain_twice(ExecMode::kInterp);
  run_chain_twice(ExecMode::kJit);
}

// A write to a code page drops only the blocks whose bytes it overwrites: a loop storing into
// data on its own page (in another 64-byte chunk, and right after the code in the same chunk)
// keeps its blocks; a store into the next block's bytes drops that block alone, which then
// runs its new instruction.
void precise_invalidation(ExecMode mode) {
  SCOPED_TRACE(mode == ExecMode::kJit ? "jit" : "interp");
  Env e;
  e.cpu.set_exec_mode(mode);
  e.cpu.set_jit_threshold(0);
  e.long_mode(kCode);
  e.load(kCode, assemble(64,
                         "mov ecx, 200\n"
                         "top: mov byte [rel far_data], cl\n"
                         "mov byte [rel near_data], cl\n"
                         "dec ecx\njnz top\n"
                         "call patched\nmov bl, al\n"
                         "mov byte [rel patched + 1], 5\n"  // mov al, 1 -> mov al, 5
                         "call patched\nhlt\n"
                         "patched: mov al, 1\nret\n"
                         "near_data: db 0\n"
                         "times 0x800 - ($ - $$) db 0\n"
                         "far_data: db 0",
                         kCode));
  ASSERT_EQ(e.cpu.run(10'000), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRbx] & 0xff, 1u);
  EXPECT_EQ(e.st().gpr[kRax] & 0xff, 5u);
  EXPECT_EQ(e.peek<uint8_t>(kCode + 0x800), 1u);
  EXPECT_TRUE(CpuTestAccess::cached(e.cpu, kCode));  // the first block, decoded once
}

TEST(EmuBlockCache, WritesDropOnlyTheBlocksTheyOverwrite) {
  precise_invalidation(ExecMode::kInterp);
  precise_invalidation(ExecMode::kJit);
}

}  // namespace
}  // namespace test
}  // namespace vessel::engine::emu
