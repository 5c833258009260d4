// Debug exceptions (SDM Vol. 3B ch. 17): TF single-step traps with the POPF/IRET and MOV SS
// rules, INT1, DR0-DR3 instruction breakpoints with RF, data breakpoints by R/W and length.
// A #DB handler records each trap's return RIP, RCX and DR6, clears DR6 and sets RF on return.
// REP string instructions trap between iterations.
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kCount = 0x8000, kDr6 = 0x8008, kRips = 0x8010, kRcxs = 0x8200;

class EmuDebugTest : public ::testing::Test {
 protected:
  Env env;
  void SetUp() override {
    env.long_mode(kCode);
    env.set_gate(vec::kDB, kHandlers);
    env.load(kHandlers, assemble(64, R"(
      push rax
      push rbx
      mov rax, [0x8000]
      mov rbx, [rsp + 16]
      mov [0x8010 + rax * 8], rbx
      mov [0x8200 + rax * 8], rcx
      inc qword [0x8000]
      mov rax, dr6
      mov [0x8008], rax
      xor eax, eax
      mov dr6, rax
      or qword [rsp + 32], 0x10000
      pop rbx
      pop rax
      iretq)",
                                 kHandlers));
  }
  void run(const std::string& src) {
    ASSERT_EQ(env.run_code(src + "\nhlt"), StopReason::kHalt) << env.cpu.error();
  }
  uint64_t traps() { return env.peek<uint64_t>(kCount); }
  uint64_t rip(unsigned i) { return env.peek<uint64_t>(kRips + 8 * i); }
  uint64_t rcx(unsigned i) { return env.peek<uint64_t>(kRcxs + 8 * i); }
  uint64_t dr6() { return env.peek<uint64_t>(kDr6); }
};

TEST_F(EmuDebugTest, SingleStepTrapsAfterEachInstructionWhileTfIsSet) {
  // Offsets: pushfq 0, or 1 (8 bytes), popfq 9, nop 10, mov 11 (5), add 16 (3), pushfq 19,
  // and 20 (8 bytes), popfq 28, hlt 29.
  run("pushfq\nor qword [rsp], 0x100\npopfq\nnop\nmov eax, 1\nadd eax, 2\n"
      "pushfq\nand qword [rsp], ~0x100\npopfq");
  // None after the POPF that sets TF; one after the POPF that clears it.
  ASSERT_EQ(traps(), 6u);
  const uint64_t want[] = {11, 16, 19, 20, 28, 29};
  for (unsigned i = 0; i < 6; ++i) EXPECT_EQ(rip(i), kCode + want[i]) << i;
  EXPECT_EQ(dr6() & 0x400f, 0x4000u);  // BS
  EXPECT_EQ(env.st().gpr[kRax], 3u);
  EXPECT_FALSE(env.st().rflags & rflags::kTF);
}

TEST_F(EmuDebugTest, MovSsHoldsTheTrapBackOneInstruction) {
  // pushfq 0, or 1, popfq 9, mov ax, ss 10 (3 bytes with 66h), mov ss, ax 13 (2), nop 15,
  // nop 16, pushfq 17, and 18, popfq 26, hlt 27.
  run("pushfq\nor qword [rsp], 0x100\npopfq\nmov ax, ss\nmov ss, ax\nnop\nnop\n"
      "pushfq\nand qword [rsp], ~0x100\npopfq");
  ASSERT_EQ(traps(), 6u);
  const uint64_t want[] = {13, 16, 17, 18, 26, 27};  // none at 15: MOV SS's was held back
  for (unsigned i = 0; i < 6; ++i) EXPECT_EQ(rip(i), kCode + want[i]) << i;
}

TEST_F(EmuDebugTest, Int1DeliversATrap) {
  run("nop\nint1\nmov ebx, 7");
  ASSERT_EQ(traps(), 1u);
  EXPECT_EQ(rip(0), kCode + 2);
  EXPECT_EQ(env.st().gpr[kRbx], 7u);
}

TEST_F(EmuDebugTest, InstructionBreakpointFaultsOnceThanksToRf) {
  run("lea r8, [rel .bp]\nmov dr0, r8\nmov eax, 1\nmov dr7, rax\nnop\n.bp: nop\nmov ebx, 5");
  ASSERT_EQ(traps(), 1u);
  EXPECT_EQ(rip(0), env.st().gpr[kR8]);  // a fault: RIP of the breakpoint instruction
  EXPECT_EQ(dr6() & 0x400f, 0x1u);
  EXPECT_EQ(env.st().gpr[kRbx], 5u);
}

TEST_F(EmuDebugTest, DataBreakpointsMatchByLengthAndAccessType) {
  // DR1 = 0x7009, 4 bytes (aligned down to 0x7008), writes only: L1 | R/W1 = 01 | LEN1 = 11.
  const uint64_t dr7 = (1u << 2) | (1u << 20) | (3u << 22);
  run("mov eax, 0x7009\nmov dr1, rax\nmov eax, " + std::to_string(dr7) +
      "\nmov dr7, rax\n"
      "mov ecx, [0x7008]\n"         // a read: no trap
      "mov dword [0x7008], 5\n"     // trap
      "mov byte [0x700b], 1\n"      // last byte of the range: trap
      "mov byte [0x700c], 1\n"      // past it: no trap
      "mov word [0x7007], 0x102\n"  // overlaps the first byte: trap
      "xor eax, eax\nmov dr7, rax\nmov dword [0x7008], 6");
  ASSERT_EQ(traps(), 3u);
  EXPECT_EQ(dr6() & 0x400f, 0x2u);
  EXPECT_EQ(env.peek<uint32_t>(0x7008), 6u);
  EXPECT_EQ(env.peek<uint8_t>(0x700c), 1u);
}

TEST_F(EmuDebugTest, SingleStepTrapsAfterEachRepIteration) {
  for (const ExecMode mode : {ExecMode::kInterp, ExecMode::kJit}) {
    SCOPED_TRACE(static_cast<int>(mode));
    env.poke<uint64_t>(kCount, 0);
    env.cpu.set_exec_mode(mode);
    env.cpu.set_jit_threshold(0);
    env.st().rip = kCode;
    env.st().events.halted = false;
    run("lea r8, [rel .rep]\nlea r9, [rel .after]\nmov rdi, 0x7000\nmov ecx, 4\nmov al, 0x5a\n"
        "pushfq\nor qword [rsp], 0x100\npopfq\n"
        ".rep: rep stosb\n.after: pushfq\nand qword [rsp], ~0x100\npopfq");
    ASSERT_EQ(traps(), 7u);  // one per iteration, then pushfq, and, popfq
    for (unsigned i = 0; i < 3; ++i) {
      EXPECT_EQ(rip(i), env.st().gpr[kR8]) << i;  // not finished: the trap returns to the REP
      EXPECT_EQ(rcx(i), 3u - i) << i;
    }
    EXPECT_EQ(rip(3), env.st().gpr[kR9]);
    EXPECT_EQ(rcx(3), 0u);
    EXPECT_EQ(env.peek<uint32_t>(0x7000), 0x5a5a5a5au);
    EXPECT_EQ(env.peek<uint8_t>(0x7004), 0u);
  }
}

TEST_F(EmuDebugTest, DataBreakpointTrapsAfterTheRepIterationThatHitIt) {
  // DR0 = 0x7010, 4 bytes, writes; DR1 = the REP instruction (an instruction breakpoint that
  // must fault once only, not again when the instruction resumes after the data trap).
  const uint64_t dr7 = 1u | (1u << 16) | (3u << 18) | (1u << 2);
  run("lea r8, [rel .rep]\nmov dr1, r8\nmov eax, 0x7010\nmov dr0, rax\nmov eax, " +
      std::to_string(dr7) +
      "\nmov dr7, rax\nmov rdi, 0x7000\nmov ecx, 16\nmov eax, 0x11223344\n"
      ".rep: rep stosd\nxor eax, eax\nmov dr7, rax");
  ASSERT_EQ(traps(), 2u);
  EXPECT_EQ(rip(0), env.st().gpr[kR8]);  // the instruction breakpoint, before any iteration
  EXPECT_EQ(rcx(0), 16u);
  EXPECT_EQ(rip(1), env.st().gpr[kR8]);  // the data trap: iteration 5 of 16 wrote 0x7010
  EXPECT_EQ(rcx(1), 11u);
  EXPECT_EQ(dr6() & 0x400f, 0x1u);  // B0
  EXPECT_EQ(env.peek<uint32_t>(0x703c), 0x11223344u);
  EXPECT_EQ(env.st().gpr[kRcx], 0u);
}

}  // namespace
}  // namespace vessel::engine::emu::test
