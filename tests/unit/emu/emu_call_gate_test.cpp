// Far CALL/JMP through call gates (SDM Vol. 3A §5.8): a 64-bit gate from ring 3 to ring 0 in
// long mode (stack from TSS.RSP0, null SS, 8-byte pushes) and back with RETFQ; a 32-bit gate
// with two dword parameters in legacy protected mode (stack from TSS.SS0:ESP0, parameters
// copied) and back with RETF 8; the inner stack from a 16-bit TSS (SS0:SP0); JMP through a
// gate; #GP for a gate less privileged than CPL.
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kEntry = kCode + 0x2000, kUser = kCode + 0x1000, kUserStack = 0x90000,
                   kKernelStack = 0xa0000, kPtr = 0x7000;

// A call gate descriptor's low 8 bytes: target selector:offset (low 32 bits), DPL, type.
uint64_t gate(uint16_t sel, uint64_t offset, unsigned dpl, unsigned type, unsigned params = 0) {
  return (offset & 0xffff) | (uint64_t{sel} << 16) | (uint64_t{params} << 32) |
         (uint64_t{0x80u | (dpl << 5) | type} << 40) | (((offset >> 16) & 0xffff) << 48);
}

Segment user_seg(uint16_t sel, uint8_t type, bool l) {
  Segment s;
  s.selector = sel;
  s.limit = 0xffffffff;
  s.type = type;
  s.dpl = 3;
  s.l = l;
  s.db = !l;
  s.g = true;
  return s;
}

class EmuCallGate64Test : public ::testing::Test {
 protected:
  Env env;
  void SetUp() override {
    env.long_mode(kUser);
    env.st().gdt.limit = 0x67;
    env.poke<uint64_t>(kTss + 4, kKernelStack);  // RSP0
    for (unsigned v : {vec::kUD, vec::kGP, vec::kNP}) {
      env.set_gate(v, kHandlers + 0x100 * v);
      env.load(kHandlers + 0x100 * v, assemble(64, "mov r15, " + std::to_string(v) + "\nhlt"));
    }
    // Enter ring 3 (64-bit code 0x2b, data 0x23).
    env.st().seg[kCs] = user_seg(0x2b, 0xb, true);
    for (int s : {kSs, kDs, kEs}) env.st().seg[s] = user_seg(0x23, 0x3, false);
    env.st().gpr[kRsp] = kUserStack;
    env.cpu.state_changed();
  }
  void set_gate64(unsigned index, uint16_t sel, uint64_t offset, unsigned dpl) {
    env.poke<uint64_t>(kGdt + 8 * index, gate(sel, offset, dpl, 0xc));
    env.poke<uint64_t>(kGdt + 8 * index + 8, offset >> 32);
  }
  void run(const std::string& user) {
    env.load(kUser, assemble(64, user, kUser));
    ASSERT_EQ(env.cpu.run(10000), StopReason::kHalt) << env.cpu.error();
  }
  uint64_t& reg(Gpr r) { return env.st().gpr[r]; }
};

TEST_F(EmuCallGate64Test, CallToRing0AndFarReturnToRing3) {
  set_gate64(9, 0x08, kEntry, 3);  // selector 0x48
  env.poke<uint64_t>(kPtr, 0);
  env.poke<uint16_t>(kPtr + 8, 0x4b);  // m16:64 (nasm's default far operand), RPL 3
  env.load(kEntry, assemble(64,
                            "mov r8, cs\nmov r9, ss\nmov r10, rsp\nmov r11, [rsp]\n"
                            "mov r12, [rsp + 8]\nmov r13, [rsp + 16]\nmov r14, [rsp + 24]\n"
                            "o64 retf",
                            kEntry));
  run("call far [0x7000]\nmov rbx, cs\nmov rcx, rsp\nud2");
  EXPECT_EQ(reg(kR8), 0x08u);
  EXPECT_EQ(reg(kR9), 0u);  // null SS, RPL 0
  EXPECT_EQ(reg(kR10), kKernelStack - 32);
  EXPECT_EQ(reg(kR11), kUser + 8);  // the return RIP after the 8-byte far call
  EXPECT_EQ(reg(kR12), 0x2bu);
  EXPECT_EQ(reg(kR13), kUserStack);
  EXPECT_EQ(reg(kR14), 0x23u);
  EXPECT_EQ(reg(kRbx), 0x2bu);  // back in ring 3 on the user stack
  EXPECT_EQ(reg(kRcx), kUserStack);
  EXPECT_EQ(reg(kR15), vec::kUD);
}

TEST_F(EmuCallGate64Test, GateLessPrivilegedThanCplFaults) {
  set_gate64(9, 0x08, kEntry, 0);  // DPL 0: ring 3 may not use it
  env.poke<uint64_t>(kPtr, 0);
  env.poke<uint16_t>(kPtr + 8, 0x4b);
  env.load(kEntry, assemble(64, "mov r8, 1\nhlt", kEntry));
  run("call far [0x7000]\nud2");
  EXPECT_EQ(reg(kR15), vec::kGP);
  EXPECT_EQ(reg(kR8), 0u);                                  // the entry never ran
  EXPECT_EQ(env.peek<uint64_t>(kKernelStack - 48), 0x48u);  // error code: the gate selector
}

// Legacy protected mode at CPL 3 (code 0x1b, data 0x23, ESP kUserStack). GDT: flat code and
// data at DPL 0 (0x08, 0x10) and DPL 3 (0x18, 0x20), 0x28 the TSS `tr` (TR holds it, busy),
// 0x30 a 32-bit DPL-3 call gate to 0x08:kEntry that copies `params` dwords.
void enter_legacy_ring3(Env& env, const Segment& tr, unsigned params) {
  constexpr uint64_t kGdt32 = 0x1000;
  const uint64_t d[] = {0,
                        0x00cf9a000000ffff,
                        0x00cf92000000ffff,
                        0x00cffa000000ffff,
                        0x00cff2000000ffff,
                        tr.limit | ((tr.base & 0xffffff) << 16) | (uint64_t{0x80u | tr.type} << 40),
                        gate(0x08, kEntry, 3, 0xc, params)};
  for (size_t i = 0; i < std::size(d); ++i) env.poke<uint64_t>(kGdt32 + 8 * i, d[i]);
  auto& s = env.st();
  s = flat_protected_mode_state(kUser);
  s.gdt = {kGdt32, 0x37};
  s.seg[kCs] = user_seg(0x1b, 0xb, false);
  for (int i : {kSs, kDs, kEs}) s.seg[i] = user_seg(0x23, 0x3, false);
  s.seg[kTr] = tr;
  s.gpr[kRsp] = kUserStack;
  env.cpu.state_changed();
}

TEST(EmuCallGate32, CallCopiesParametersAndRetfPopsThemOnBothStacks) {
  Env env;
  constexpr uint64_t kTss32 = 0x3000;
  enter_legacy_ring3(env, Segment{0x28, kTss32, 0x67, 0xb, false, 0, true}, 2);
  env.poke<uint32_t>(kTss32 + 4, kKernelStack);  // ESP0
  env.poke<uint32_t>(kTss32 + 8, 0x10);          // SS0
  env.load(kEntry, assemble(32,
                            "mov eax, cs\nmov ebx, ss\nmov ecx, esp\nmov edx, [esp + 8]\n"
                            "mov esi, [esp + 12]\nmov edi, [esp + 16]\nmov ebp, [esp + 20]\n"
                            "retf 8",
                            kEntry));
  env.load(kUser, assemble(32,
                           "push 0x2222\npush 0x1111\ncall 0x33:0\nmov [0x7000], esp\n"
                           "mov [0x7004], cs\njmp $",
                           kUser));
  env.cpu.run(200);
  const auto& s = env.st();
  EXPECT_EQ(s.gpr[kRax] & 0xffff, 0x08u);
  EXPECT_EQ(s.gpr[kRbx] & 0xffff, 0x10u);
  EXPECT_EQ(s.gpr[kRcx], kKernelStack - 24);  // SS, ESP, 2 parameters, CS, EIP
  EXPECT_EQ(s.gpr[kRdx], 0x1111u);            // the parameters in their original order
  EXPECT_EQ(s.gpr[kRsi], 0x2222u);
  EXPECT_EQ(s.gpr[kRdi], kUserStack - 8);
  EXPECT_EQ(s.gpr[kRbp], 0x23u);
  EXPECT_EQ(env.peek<uint32_t>(0x7000), kUserStack);  // RETF 8 dropped the user's two pushes
  EXPECT_EQ(env.peek<uint16_t>(0x7004), 0x1bu);
}

// With TR on a 16-bit TSS (type 3, busy), the inner stack is SS0:SP0 at offsets 4 and 2.
class EmuCallGate16BitTssTest : public ::testing::TestWithParam<ExecMode> {};

TEST_P(EmuCallGate16BitTssTest, InnerStackComesFromSs0Sp0) {
  Env env;
  env.cpu.set_exec_mode(GetParam());
  env.cpu.set_jit_threshold(0);
  constexpr uint64_t kTss16 = 0x3000, kSp0 = 0x6000;
  enter_legacy_ring3(env, Segment{0x28, kTss16, 0x2b, 0x3, false, 0, true}, 1);
  env.poke<uint16_t>(kTss16 + 2, kSp0);   // SP0
  env.poke<uint16_t>(kTss16 + 4, 0x10);   // SS0
  env.poke<uint32_t>(kTss16 + 4 + 4, 0);  // what a 32-bit TSS's SS0 would be: not read
  env.load(kEntry, assemble(32, "mov ebx, ss\nmov ecx, esp\nmov edx, [esp + 8]\nhlt", kEntry));
  env.load(kUser, assemble(32, "push 0x3333\ncall 0x33:0", kUser));
  ASSERT_EQ(env.cpu.run(200), StopReason::kHalt) << env.cpu.error();
  const auto& s = env.st();
  EXPECT_EQ(s.gpr[kRbx] & 0xffff, 0x10u);
  EXPECT_EQ(s.gpr[kRcx], kSp0 - 20u);  // SS, ESP, 1 parameter, CS, EIP
  EXPECT_EQ(s.gpr[kRdx], 0x3333u);
  EXPECT_EQ(env.peek<uint32_t>(kSp0 - 4), 0x23u);  // the caller's SS:ESP
  EXPECT_EQ(env.peek<uint32_t>(kSp0 - 8), kUserStack - 4);
}

INSTANTIATE_TEST_SUITE_P(ExecModes, EmuCallGate16BitTssTest,
                         ::testing::Values(ExecMode::kInterp, ExecMode::kJit),
                         [](const auto& info) {
                           return info.param == ExecMode::kJit ? "Translator" : "Interpreter";
                         });

TEST_F(EmuCallGate64Test, JmpThroughGateKeepsCpl) {
  // A ring-3 JMP through a DPL-3 gate to ring-3 code (0x28 | 3) stays at CPL 3.
  set_gate64(9, 0x2b, kEntry, 3);
  env.poke<uint64_t>(kPtr, 0);
  env.poke<uint16_t>(kPtr + 8, 0x4b);
  env.load(kEntry, assemble(64, "mov r8, cs\nmov r9, rsp\nud2", kEntry));
  run("jmp far [0x7000]");
  EXPECT_EQ(reg(kR8), 0x2bu);
  EXPECT_EQ(reg(kR9), kUserStack);
  EXPECT_EQ(reg(kR15), vec::kUD);
}

}  // namespace
}  // namespace vessel::engine::emu::test
