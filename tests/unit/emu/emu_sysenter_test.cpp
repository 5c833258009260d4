// SYSENTER/SYSEXIT (SDM Vol. 2B) in long mode: to 64-bit and to compatibility-mode user code
// and back, the segments they load, the flags SYSENTER clears, and their #GP(0) cases. CPUID
// advertises SEP.
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kUser = kCode + 0x1000, kEntry = kCode + 0x2000, kUserStack = 0x90000,
                   kKernelStack = 0xa0000;

class EmuSysenterTest : public ::testing::Test {
 protected:
  Env env;
  void SetUp() override {
    env.long_mode(kCode);
    env.set_gate(vec::kGP, kHandlers);
    env.load(kHandlers, assemble(64, "mov r15, 13\nhlt"));
    // Kernel entry: record the user registers' result, then where we are.
    env.load(kEntry,
             assemble(64, "mov r12, cs\nmov r13, ss\nmov r14, rsp\npushfq\npop rbx\nhlt", kEntry));
    env.poke<uint64_t>(kTss + 4, kKernelStack);  // RSP0 for faults from ring 3
    reg(kR15) = 0xff;
  }
  uint64_t& reg(Gpr r) { return env.st().gpr[r]; }
  // Ring-0 64-bit code that programs the three MSRs, then `tail`.
  void run(const std::string& tail, unsigned sysenter_cs = 0x08) {
    const std::string wr = "xor edx, edx\nmov ecx, 0x174\nmov eax, " + std::to_string(sysenter_cs) +
                           "\nwrmsr\nmov ecx, 0x175\nmov eax, " + std::to_string(kKernelStack) +
                           "\nwrmsr\nmov ecx, 0x176\nmov eax, " + std::to_string(kEntry) +
                           "\nwrmsr\n";
    ASSERT_EQ(env.run_code(wr + tail), StopReason::kHalt) << env.cpu.error();
  }
};

TEST_F(EmuSysenterTest, SysexitTo64BitUserAndSysenterBack) {
  env.load(kUser, assemble(64, "mov r8, cs\nmov r9, ss\nmov r10, rsp\nsti\nsysenter", kUser));
  env.st().rflags |= rflags::kIOPL;  // lets ring 3 execute STI
  run("mov rcx, " + std::to_string(kUserStack) + "\nmov rdx, " + std::to_string(kUser) +
      "\ndb 0x48, 0x0f, 0x35");  // sysexitq
  EXPECT_EQ(reg(kR8), 0x2bu);    // SYSENTER_CS + 32, RPL 3
  EXPECT_EQ(reg(kR9), 0x33u);    // + 40
  EXPECT_EQ(reg(kR10), kUserStack);
  EXPECT_EQ(reg(kR12), 0x08u);
  EXPECT_EQ(reg(kR13), 0x10u);
  EXPECT_EQ(reg(kR14), kKernelStack);
  EXPECT_EQ(reg(kRbx) & rflags::kIF, 0u);
  EXPECT_TRUE(env.st().seg[kCs].l);
  EXPECT_EQ(env.st().seg[kCs].dpl, 0);
  EXPECT_EQ(reg(kR15), 0xffu);
}

TEST_F(EmuSysenterTest, SysexitToCompatibilityModeAndSysenterBack) {
  env.load(kUser, assemble(32, "mov esi, cs\nmov edi, ss\nmov ebp, esp\nsysenter", kUser));
  run("mov rcx, 0x1234567800090000\nmov rdx, " + std::to_string(kUser) + "\nsysexit");
  EXPECT_EQ(reg(kRsi), 0x1bu);  // SYSENTER_CS + 16, RPL 3
  EXPECT_EQ(reg(kRdi), 0x23u);
  EXPECT_EQ(reg(kRbp), kUserStack);  // ECX: the high half of RCX is dropped
  EXPECT_EQ(reg(kR12), 0x08u);
  EXPECT_TRUE(env.st().seg[kCs].l);  // SYSENTER in long mode enters 64-bit code
  EXPECT_EQ(reg(kR15), 0xffu);
}

TEST_F(EmuSysenterTest, FaultsWithNullCsFromUserAndOnNonCanonicalTargets) {
  run("sysenter", 0);
  EXPECT_EQ(reg(kR15), 13u);
  EXPECT_EQ(reg(kR12), 0u);  // the entry never ran

  env.long_mode(kCode);
  reg(kR15) = 0xff;
  run("mov rcx, 0x8000000000000000\nmov rdx, " + std::to_string(kUser) + "\ndb 0x48, 0x0f, 0x35");
  EXPECT_EQ(reg(kR15), 13u);
  EXPECT_EQ(env.st().seg[kCs].dpl, 0);

  env.long_mode(kCode);
  reg(kR15) = 0xff;
  env.load(kUser, assemble(64, "sysexit", kUser));  // CPL 3: #GP(0)
  run("mov rcx, " + std::to_string(kUserStack) + "\nmov rdx, " + std::to_string(kUser) +
      "\ndb 0x48, 0x0f, 0x35");
  EXPECT_EQ(reg(kR15), 13u);
}

TEST_F(EmuSysenterTest, CpuidAdvertisesSepAndMsrsReadBack) {
  run("mov eax, 1\ncpuid\nmov r8d, edx\nmov ecx, 0x176\nrdmsr\nmov r9d, eax");
  EXPECT_TRUE(reg(kR8) & (1u << 11));
  EXPECT_EQ(reg(kR9), kEntry);
}

// Legacy 32-bit protected mode (no long mode): SYSEXIT to ring 3 and SYSENTER back, with the
// 32-bit segments and the MSRs' high halves ignored.
TEST(EmuSysenter32, SysexitAndSysenterInProtectedMode) {
  Env env;
  env.load(kEntry, assemble(32, "mov esi, cs\nmov edi, ss\nmov ebp, esp\nhlt", kEntry));
  env.load(kUser, assemble(32, "mov ebx, cs\nmov edx, ss\nsysenter", kUser));
  env.load(kCode, assemble(32, "sysexit", kCode));
  auto& s = env.st();
  s = flat_protected_mode_state(static_cast<uint32_t>(kCode));
  s.sysenter_cs = 0x08;
  s.sysenter_esp = 0xffffffff00000000ull | kKernelStack;
  s.sysenter_eip = 0xffffffff00000000ull | kEntry;
  s.gpr[kRcx] = kUserStack;
  s.gpr[kRdx] = kUser;
  env.cpu.state_changed();
  ASSERT_EQ(env.cpu.run(100), StopReason::kHalt) << env.cpu.error();
  EXPECT_EQ(s.gpr[kRbx], 0x1bu);  // SYSENTER_CS + 16, RPL 3
  EXPECT_EQ(s.gpr[kRdx] & 0xffff, 0x23u);
  EXPECT_EQ(s.gpr[kRsi], 0x08u);
  EXPECT_EQ(s.gpr[kRdi], 0x10u);
  EXPECT_EQ(s.gpr[kRbp], kKernelStack);  // ESP: the MSR's high half dropped
  EXPECT_EQ(s.rip, kEntry + 7);          // after the HLT
  EXPECT_FALSE(s.seg[kCs].l);
  EXPECT_TRUE(s.seg[kCs].db);
}

}  // namespace
}  // namespace vessel::engine::emu::test
