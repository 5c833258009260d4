// REP string instructions between iterations (SDM Vol. 2B REP): a long copy stops, takes a
// pending interrupt with RIP at the instruction and RCX/RSI/RDI at the next iteration, and
// resumes where it left off after IRET. Run on the interpreter and on the translator, which
// calls the same handler.
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kSrc = 0x400000, kDst = 0x600000, kLen = 1 << 20;
constexpr uint64_t kCount = 0x8000, kSavedRip = 0x8008, kSavedRcx = 0x8010;
constexpr uint8_t kVector = 0x40;

class EmuRepTest : public ::testing::TestWithParam<ExecMode> {
 protected:
  Env env;
  void SetUp() override {
    env.long_mode(kCode);
    env.cpu.set_exec_mode(GetParam());
    env.cpu.set_jit_threshold(0);
    env.st().rflags |= rflags::kIF;
    env.set_gate(kVector, kHandlers);
    env.load(kHandlers, assemble(64, R"(
      push rax
      inc qword [0x8000]
      mov rax, [rsp + 8]
      mov [0x8008], rax
      mov [0x8010], rcx
      pop rax
      iretq)"));
  }
  // Runs `setup` (n_setup instructions) and one step of the REP instruction after it, checks
  // that it stopped part-way with consistent registers, injects the interrupt and finishes.
  // Returns the RCX the REP instruction stopped at.
  uint64_t interrupt_part_way(const std::string& setup, unsigned n_setup, const std::string& rep,
                              unsigned elem) {
    const std::vector<uint8_t> head = assemble(64, setup, kCode);
    env.load(kCode, assemble(64, setup + "\n" + rep + "\nhlt", kCode));
    const uint64_t rep_rip = kCode + head.size();
    EXPECT_EQ(env.cpu.run(n_setup + 1), StopReason::kInstructionLimit);
    const uint64_t rcx = env.st().gpr[kRcx];
    EXPECT_EQ(env.st().rip, rep_rip);
    EXPECT_GT(rcx, 0u);
    EXPECT_LT(rcx, kLen / elem);
    EXPECT_EQ(env.st().gpr[kRdi] - kDst, kLen - rcx * elem);  // RDI at the next element
    env.st().events.interrupt_pending = true;
    env.st().events.interrupt_vector = kVector;
    EXPECT_EQ(env.cpu.run(1'000'000), StopReason::kHalt) << env.cpu.error();
    EXPECT_EQ(env.peek<uint64_t>(kCount), 1u);
    EXPECT_EQ(env.peek<uint64_t>(kSavedRip), rep_rip);  // the interrupt returns to the REP
    EXPECT_EQ(env.st().gpr[kRcx], 0u);
    EXPECT_EQ(env.st().gpr[kRdi], kDst + kLen);
    return env.peek<uint64_t>(kSavedRcx);
  }
};

TEST_P(EmuRepTest, InterruptDuringRepMovsbResumesAndCompletes) {
  for (uint64_t i = 0; i < kLen; i += 8) env.poke<uint64_t>(kSrc + i, i * 0x9e3779b97f4a7c15ull);
  const uint64_t rcx_at_interrupt =
      interrupt_part_way("cld\nmov rsi, " + std::to_string(kSrc) + "\nmov rdi, " +
                             std::to_string(kDst) + "\nmov rcx, " + std::to_string(kLen),
                         4, "rep movsb", 1);
  EXPECT_GT(rcx_at_interrupt, 0u);
  EXPECT_EQ(env.st().gpr[kRsi], kSrc + kLen);
  for (uint64_t i = 0; i < kLen; i += 8)
    ASSERT_EQ(env.peek<uint64_t>(kDst + i), i * 0x9e3779b97f4a7c15ull) << i;
}

TEST_P(EmuRepTest, InterruptDuringRepStosdResumesAndCompletes) {
  interrupt_part_way("cld\nmov eax, 0xa5c3e1f0\nmov rdi, " + std::to_string(kDst) + "\nmov rcx, " +
                         std::to_string(kLen / 4),
                     4, "rep stosd", 4);
  for (uint64_t i = 0; i < kLen; i += 4) ASSERT_EQ(env.peek<uint32_t>(kDst + i), 0xa5c3e1f0u) << i;
  EXPECT_EQ(env.peek<uint32_t>(kDst + kLen), 0u);
}

// Qword runs go in bulk, a page at a time (interp/string_bulk.cpp): still stopped between
// iterations with exact registers.
TEST_P(EmuRepTest, InterruptDuringBulkRepMovsqResumesAndCompletes) {
  for (uint64_t i = 0; i < kLen; i += 8) env.poke<uint64_t>(kSrc + i, ~i * 0x9e3779b97f4a7c15ull);
  interrupt_part_way("cld\nmov rsi, " + std::to_string(kSrc) + "\nmov rdi, " +
                         std::to_string(kDst) + "\nmov rcx, " + std::to_string(kLen / 8),
                     4, "rep movsq", 8);
  EXPECT_EQ(env.st().gpr[kRsi], kSrc + kLen);
  for (uint64_t i = 0; i < kLen; i += 8)
    ASSERT_EQ(env.peek<uint64_t>(kDst + i), ~i * 0x9e3779b97f4a7c15ull) << i;
}

TEST_P(EmuRepTest, InterruptDuringBulkRepStosqResumesAndCompletes) {
  interrupt_part_way("cld\nmov rax, -3\nmov rdi, " + std::to_string(kDst) + "\nmov rcx, " +
                         std::to_string(kLen / 8),
                     4, "rep stosq", 8);
  for (uint64_t i = 0; i < kLen; i += 8) ASSERT_EQ(env.peek<uint64_t>(kDst + i), ~2ull) << i;
}

INSTANTIATE_TEST_SUITE_P(Modes, EmuRepTest, ::testing::Values(ExecMode::kInterp, ExecMode::kJit));

}  // namespace
}  // namespace vessel::engine::emu::test
