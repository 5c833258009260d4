// Debug exceptions (SDM Vol. 3B ch. 17): TF single-step traps with the POPF/IRET and MOV SS
// rules, INT1, DR0-DR3 instruction breakpoints with RF, data breakpoints by R/W and length.
// A #DB handler records each trap's return RIP, RCX and DR6, clears DR6 and sets RF on return.
// REP string instructions trap between iterations. RF in the EFLAGS image events push: 1 for
// faults and for events between REP iterations, as it is for traps and interrupts (on the
// interpreter and the translator).
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kCount = 0x8000, kDr6 = 0x8008, kRips = 0x8010, kRcxs = 0x8200, kDr6s = 0x8400;

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
      mov rbx, dr6
      mov [0x8400 + rax * 8], rbx
      mov [0x8008], rbx
      inc qword [0x8000]
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
  uint64_t dr6(unsigned i) { return env.peek<uint64_t>(kDr6s + 8 * i); }
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

TEST_F(EmuDebugTest, SingleStepOverIntNAndInt3StopsAfterTheInstructionFollowingTheReturn) {
  env.set_gate(0x40, kHandlers + 0x800);
  env.set_gate(vec::kBP, kHandlers + 0x800);
  env.load(kHandlers + 0x800, assemble(64, "iretq"));
  // INT n and INT3 deliver with TF cleared and no trap of their own; the IRET restores TF
  // and, as an instruction that sets TF, traps only after the instruction that follows it.
  run("lea r8, [rel .a]\nlea r9, [rel .b]\npushfq\nor qword [rsp], 0x100\npopfq\n"
      "int 0x40\nnop\n.a: int3\nnop\n.b: pushfq\nand qword [rsp], ~0x100\npopfq");
  ASSERT_EQ(traps(), 5u);
  EXPECT_EQ(rip(0), env.st().gpr[kR8]);
  EXPECT_EQ(rip(1), env.st().gpr[kR9]);
  EXPECT_EQ(dr6(0) & 0xe00f, 0x4000u);
}

TEST_F(EmuDebugTest, IoBreakpointsTrapAfterTheAccessWhenCr4DeIsSet) {
  for (const bool de : {true, false}) {
    SCOPED_TRACE(de);
    env.poke<uint64_t>(kCount, 0);
    env.st().rip = kCode;
    env.st().events.halted = false;
    env.st().cr4 = de ? (env.st().cr4 | cr4::kDE) : (env.st().cr4 & ~cr4::kDE);
    // DR2 = port 0x80, 1 byte, R/W = 10b (I/O), L2.
    const uint64_t dr7 = (1u << 4) | (2u << 24);
    run("mov eax, 0x80\nmov dr2, rax\nmov eax, " + std::to_string(dr7) +
        "\nmov dr7, rax\n"
        "lea r8, [rel .a]\nlea r9, [rel .b]\n"
        "out 0x80, al\n"                                              // trap
        ".a: in al, 0x81\n"                                           // the next port: none
        "mov dx, 0x7f\nout dx, ax\n"                                  // 0x7f-0x80: trap
        ".b: mov dx, 0x80\nmov rsi, 0x7000\nmov ecx, 3\nrep outsb\n"  // a trap per iteration
        "xor eax, eax\nmov dr7, rax");
    if (!de) {
      EXPECT_EQ(traps(), 0u);  // R/W = 10b is undefined without CR4.DE: no breakpoint
      continue;
    }
    ASSERT_EQ(traps(), 5u);
    EXPECT_EQ(rip(0), env.st().gpr[kR8]);
    EXPECT_EQ(rip(1), env.st().gpr[kR9]);
    for (unsigned i = 2; i < 5; ++i) EXPECT_EQ(rcx(i), 4u - i) << i;
    for (unsigned i = 0; i < 5; ++i) EXPECT_EQ(dr6(i) & 0xe00f, 0x4u) << i;  // B2
  }
}

TEST_F(EmuDebugTest, GeneralDetectFaultsOnADebugRegisterAccess) {
  // GD (bit 13) set: the MOV from DR0 faults with DR6.BD; the processor clears GD on entry
  // to the handler (which reads DR6), and the MOV then runs.
  run("mov eax, 0x2000\nmov dr7, rax\nlea r8, [rel .gd]\nmov ebx, 0x1234\nmov dr0, rbx\n"
      ".gd: mov rcx, dr0");
  // The first access after setting GD is the MOV to DR0: that one faults, then runs.
  ASSERT_EQ(traps(), 1u);
  EXPECT_EQ(rip(0), env.st().gpr[kR8] - 3);  // mov dr0, rbx (3 bytes) before .gd
  EXPECT_EQ(dr6(0) & 0xe00f, 0x2000u);
  EXPECT_EQ(env.st().dr7 & 0x2000, 0u);
  EXPECT_EQ(env.st().gpr[kRcx], 0x1234u);
}

TEST_F(EmuDebugTest, Dr6ReportsSingleStepAndADataBreakpointOfTheSameInstruction) {
  // DR1 = 0x7008, 4 bytes, writes; TF on: the store traps once with B1 and BS together.
  const uint64_t dr7 = (1u << 2) | (1u << 20) | (3u << 22);
  run("mov eax, 0x7008\nmov dr1, rax\nmov eax, " + std::to_string(dr7) +
      "\nmov dr7, rax\npushfq\nor qword [rsp], 0x100\npopfq\n"
      "mov dword [0x7008], 1\nnop\npushfq\nand qword [rsp], ~0x100\npopfq\n"
      "xor eax, eax\nmov dr7, rax");
  ASSERT_EQ(traps(), 5u);
  EXPECT_EQ(dr6(0) & 0xe00f, 0x4002u);
  EXPECT_EQ(dr6(1) & 0xe00f, 0x4000u);  // the handler cleared DR6 in between
}

// RF in the pushed EFLAGS image (SDM Vol. 3B §17.3.1.1), on both execution modes with every
// block translated at once.
class EmuRfTest : public ::testing::TestWithParam<ExecMode> {
 protected:
  static constexpr uint64_t kGpFlags = 0x8100, kBpFlags = 0x8108, kIrqFlags = 0x8110,
                            kIrqRip = 0x8118, kIrqRcx = 0x8120, kDbCount = 0x8128;
  static constexpr uint64_t kBuffer = 0x20000;
  Env env;
  void SetUp() override {
    env.cpu.set_exec_mode(GetParam());
    env.cpu.set_jit_threshold(0);
    env.long_mode(kCode);
    // #GP: record RFLAGS, set RAX to a good address, return to the faulting instruction.
    handler(vec::kGP,
            "push rbx\nmov rbx, [rsp + 32]\nmov [0x8100], rbx\npop rbx\n"
            "mov eax, 0x7000\nadd rsp, 8\niretq");
    handler(vec::kBP, "push rbx\nmov rbx, [rsp + 24]\nmov [0x8108], rbx\npop rbx\niretq");
    // #DB: count, set RF in the image and return.
    handler(vec::kDB, "inc qword [0x8128]\nor qword [rsp + 16], 0x10000\niretq");
    // Vector 0x40 (an external interrupt): RFLAGS, RIP and RCX at delivery.
    handler(0x40,
            "push rbx\nmov rbx, [rsp + 24]\nmov [0x8110], rbx\nmov rbx, [rsp + 8]\n"
            "mov [0x8118], rbx\nmov [0x8120], rcx\npop rbx\niretq");
  }
  void handler(unsigned vector, const std::string& src) {
    const uint64_t at = kHandlers + 0x100 * vector;
    env.set_gate(vector, at);
    env.load(at, assemble(64, src, at));
  }
  // REP STOSB of `count` bytes at kBuffer, then NOP, HLT; interrupts enabled.
  void rep_stosb(uint64_t count) {
    env.load(kCode, assemble(64, "rep stosb\nnop\nhlt", kCode));
    auto& s = env.st();
    s.gpr[kRcx] = count;
    s.gpr[kRdi] = kBuffer;
    s.gpr[kRax] = 0xab;
    s.rflags |= rflags::kIF;
    env.cpu.state_changed();
  }
  void raise_irq() {
    env.st().events.interrupt_pending = true;
    env.st().events.interrupt_vector = 0x40;
  }
  uint64_t at(uint64_t gpa) { return env.peek<uint64_t>(gpa); }
};

TEST_P(EmuRfTest, FaultPushesRfAndTrapPushesItAsItIs) {
  ASSERT_EQ(env.run_code("mov rax, 0x8000000000000000\nmov rbx, [rax]\nint3\nhlt"),
            StopReason::kHalt)
      << env.cpu.error();
  EXPECT_TRUE(at(kGpFlags) & rflags::kRF);   // #GP, a fault
  EXPECT_FALSE(at(kBpFlags) & rflags::kRF);  // INT3, a trap
  EXPECT_FALSE(env.st().rflags & rflags::kRF);
}

TEST_P(EmuRfTest, IretToAFaultingInstructionDoesNotTakeItsBreakpointAgain) {
  // The #GP handler (a debugger, say) puts DR0 on the faulting load and returns to it: the
  // image has RF = 1, so the load runs without a #DB; the second pass over it takes one.
  handler(vec::kGP,
          "mov rbx, [rsp + 8]\nmov dr0, rbx\nmov ebx, 1\nmov dr7, rbx\n"
          "mov eax, 0x7000\nadd rsp, 8\niretq");
  ASSERT_EQ(env.run_code("mov r9d, 2\nmov rax, 0x8000000000000000\n"
                         ".bp: mov rbx, [rax]\ndec r9d\njnz .bp\nhlt"),
            StopReason::kHalt)
      << env.cpu.error();
  EXPECT_EQ(at(kDbCount), 1u);
  EXPECT_EQ(env.st().gpr[kRax], 0x7000u);  // the load ran after the #GP handler
}

TEST_P(EmuRfTest, InterruptBetweenRepIterationsPushesRf) {
  rep_stosb(5000);  // more than one step of the REP (4096 iterations)
  ASSERT_EQ(env.cpu.run(1), StopReason::kInstructionLimit);
  ASSERT_EQ(env.st().rip, kCode);  // stopped between iterations
  raise_irq();
  ASSERT_EQ(env.cpu.run(1000), StopReason::kHalt) << env.cpu.error();
  EXPECT_TRUE(at(kIrqFlags) & rflags::kRF);
  EXPECT_EQ(at(kIrqRip), kCode);          // returns to the REP
  EXPECT_EQ(at(kIrqRcx), 5000u - 4096u);  // which goes on where it stopped
  EXPECT_EQ(env.st().gpr[kRcx], 0u);
  EXPECT_EQ(env.peek<uint8_t>(kBuffer + 4999), 0xab);
  EXPECT_EQ(env.peek<uint8_t>(kBuffer + 5000), 0u);
}

TEST_P(EmuRfTest, InterruptAfterAFinishedRepPushesRfAsItIs) {
  rep_stosb(4096 + 10);  // two steps; the second one finishes
  ASSERT_EQ(env.cpu.run(2), StopReason::kInstructionLimit);
  ASSERT_EQ(env.st().rip, kCode + 2);  // at the NOP
  raise_irq();
  ASSERT_EQ(env.cpu.run(1000), StopReason::kHalt) << env.cpu.error();
  EXPECT_FALSE(at(kIrqFlags) & rflags::kRF);
  EXPECT_EQ(at(kIrqRip), kCode + 2);
}

INSTANTIATE_TEST_SUITE_P(ExecModes, EmuRfTest, ::testing::Values(ExecMode::kInterp, ExecMode::kJit),
                         [](const auto& info) {
                           return info.param == ExecMode::kJit ? "Translator" : "Interpreter";
                         });

}  // namespace
}  // namespace vessel::engine::emu::test
