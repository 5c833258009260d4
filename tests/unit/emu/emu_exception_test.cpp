// Exception and interrupt delivery tests: IDT in long mode with privilege change and IST,
// real-mode IVT, 32-bit gates with TSS stack switch, double/triple fault, external interrupt
// injection through an InterruptController with HLT and the STI shadow, SYSCALL/SYSRET.
#include <optional>

#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

struct FakeController : bus::InterruptController {
  std::optional<uint8_t> vector;
  bool nmi = false;
  bool interrupt_pending() override { return vector.has_value(); }
  std::optional<uint8_t> acknowledge() override {
    auto v = vector;
    vector.reset();
    return v;
  }
  bool take_nmi() override { return std::exchange(nmi, false); }
};

TEST(EmuExceptions, TripleFaultShutsDown) {
  Env e;
  e.long_mode(kCode);
  e.st().idt = {kIdt, 0};  // every vector is beyond the limit
  ASSERT_EQ(e.run_code("ud2"), StopReason::kShutdown);
  EXPECT_NE(e.cpu.error().find("triple fault"), std::string::npos);
}

TEST(EmuExceptions, DoubleFaultWhenGpCannotBeDelivered) {
  Env e;
  e.long_mode(kCode);
  e.set_gate(vec::kDF, kHandlers);
  e.load(kHandlers, assemble(64, "pop r15\nmov r14, 8\nhlt"));
  // #GP's gate is not present → #NP during delivery of a contributory fault → #DF.
  ASSERT_EQ(e.run_code("mov ecx, 0x999\nrdmsr"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR14], 8u);
  EXPECT_EQ(e.st().gpr[kR15], 0u);
}

TEST(EmuExceptions, UserInterruptSwitchesToRsp0AndIretqReturns) {
  Env e;
  e.long_mode(kCode);
  e.poke<uint64_t>(kTss + 4, 0x70000);  // RSP0
  e.set_gate(0x80, kHandlers, 3);
  e.load(kHandlers, assemble(64, "mov r8, rsp\nmov r9, [rsp+8]\nmov r10, [rsp+32]\niretq"));
  // User mode: CS 0x2b, SS 0x23.
  e.st().seg[kCs].selector = 0x2b;
  e.st().seg[kCs].dpl = 3;
  e.st().seg[kSs].selector = 0x23;
  e.st().seg[kSs].dpl = 3;
  e.st().gpr[kRsp] = 0x60000;
  e.cpu.state_changed();
  ASSERT_EQ(e.run_code("int 0x80\nmov r11, 1\nl: jmp l", 8), StopReason::kInstructionLimit);
  EXPECT_EQ(e.st().gpr[kR8], 0x70000u - 40);
  EXPECT_EQ(e.st().gpr[kR9], 0x2bu);   // pushed CS
  EXPECT_EQ(e.st().gpr[kR10], 0x23u);  // pushed SS
  EXPECT_EQ(e.st().gpr[kR11], 1u);     // back after INT
  EXPECT_EQ(e.st().seg[kCs].selector, 0x2b);
  EXPECT_EQ(e.cpu.cpl(), 3u);
  EXPECT_EQ(e.st().gpr[kRsp], 0x60000u);
}

TEST(EmuExceptions, UserCannotUseDpl0Gate) {
  Env e;
  e.long_mode(kCode);
  e.poke<uint64_t>(kTss + 4, 0x70000);
  e.set_gate(0x81, kHandlers, 0);
  e.set_gate(vec::kGP, kHandlers + 0x100);
  e.load(kHandlers + 0x100, assemble(64, "pop r15\nhlt"));
  e.st().seg[kCs].selector = 0x2b;
  e.st().seg[kCs].dpl = 3;
  e.st().seg[kSs].selector = 0x23;
  e.cpu.state_changed();
  ASSERT_EQ(e.run_code("int 0x81"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], 0x81u * 8 + 2);  // IDT-format error code
}

TEST(EmuExceptions, IstStackIsUsed) {
  Env e;
  e.long_mode(kCode);
  e.poke<uint64_t>(kTss + 0x24, 0x50008);  // IST1 (aligned down to 16)
  e.set_gate(vec::kBP, kHandlers, 3, 1);
  e.load(kHandlers, assemble(64, "mov r8, rsp\nhlt"));
  ASSERT_EQ(e.run_code("int3"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR8], 0x50000u - 40);
  EXPECT_EQ(e.peek<uint64_t>(0x50000 - 40), kCode + 1);  // INT3 is a trap: next RIP
}

TEST(EmuExceptions, RealModeIvt) {
  Env e;
  e.st() = real_mode_state(0x7c00, 0x7000);
  e.cpu.state_changed();
  e.poke<uint32_t>(0x21 * 4, 0x00008000);  // 0000:8000
  e.load(0x8000, assemble(16, "mov bx, 0x4321\niret", 0x8000));
  e.load(0x7c00, assemble(16, "sti\nint 0x21\nmov cx, bx\nhlt", 0x7c00));
  ASSERT_EQ(e.cpu.run(100), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRcx] & 0xffff, 0x4321u);
  EXPECT_TRUE(e.st().rflags & rflags::kIF);  // restored by IRET
}

TEST(EmuExceptions, ProtectedModeGateWithTssStackSwitch) {
  Env e;
  e.setup_gdt();
  auto& s = e.st();
  s = flat_protected_mode_state(0x100000);
  // 32-bit TSS at 0x3000 in GDT slot 0x38 (type 9), ESP0/SS0.
  e.poke<uint64_t>(kGdt + 0x38, 0x67 | ((kTss & 0xffffff) << 16) | (0x89ull << 40));
  e.poke<uint32_t>(kTss + 4, 0x90000);
  e.poke<uint16_t>(kTss + 8, 0x10);
  // IDT gate 0x40: 32-bit interrupt gate, DPL 3, to 0x18:0x200000.
  const uint64_t gate = 0x0000 | (0x18ull << 16) | (0xeeull << 40) | (0x0020ull << 48);
  e.poke<uint64_t>(0x2000 + 0x40 * 8, gate);
  s.idt = {0x2000, 0x7ff};
  s.gdt = {kGdt, 0x47};
  s.seg[kTr] = Segment{0x38, kTss, 0x67, 0xb, false, 0, true};
  s.seg[kCs].selector = 0x33;
  s.seg[kCs].dpl = 3;
  s.seg[kSs].selector = 0x23;
  s.seg[kSs].dpl = 3;
  s.seg[kSs].type = 3;
  s.gpr[kRsp] = 0x60000;
  e.cpu.state_changed();
  e.load(0x200000, assemble(32, "mov eax, esp\nmov ebx, [esp+16]\nhlt", 0x200000));
  e.load(0x100000, assemble(32, "int 0x40", 0x100000));
  ASSERT_EQ(e.cpu.run(10), StopReason::kHalt) << e.cpu.error();
  EXPECT_EQ(s.gpr[kRax], 0x90000u - 20);
  EXPECT_EQ(s.gpr[kRbx], 0x23u);  // old SS on the new stack
  EXPECT_EQ(s.seg[kSs].selector, 0x10);
  EXPECT_EQ(e.cpu.cpl(), 0u);
}

TEST(EmuExceptions, ExternalInterruptWakesHaltAndHonoursStiShadow) {
  Env e;
  e.long_mode(kCode);
  FakeController ic;
  e.cpu.set_interrupt_controller(&ic);
  e.set_gate(0x30, kHandlers);
  e.load(kHandlers, assemble(64, "inc r12\niretq"));
  ic.vector = 0x30;  // pending before STI: taken only after the instruction following STI
  ASSERT_EQ(e.run_code("mov r13, 0\nsti\nmov r13, 1\nhlt\nmov r14, 2\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR12], 1u);
  EXPECT_EQ(e.st().gpr[kR13], 1u);
  EXPECT_EQ(e.st().gpr[kR14], 0u);  // the interrupt came before the first HLT
  // Now halted in the second... first HLT: nothing pending → kHalt; inject and resume.
  ic.vector = 0x30;
  ASSERT_EQ(e.cpu.run(100), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR12], 2u);
  EXPECT_EQ(e.st().gpr[kR14], 2u);
}

TEST(EmuExceptions, SyscallSysretRoundTrip) {
  Env e;
  e.long_mode(kCode);
  e.st().star = (0x1bull << 48) | (0x08ull << 32);  // SYSRET base 0x18 → CS 0x2b, SS 0x23
  e.st().lstar = kHandlers;
  e.st().sfmask = rflags::kIF;
  e.st().rflags |= rflags::kIF;
  e.load(kHandlers, assemble(64, "mov r8, rcx\nmov r9, r11\nmov r10, 0x99\no64 sysret"));
  ASSERT_EQ(e.run_code("syscall\nmov rbx, 1\nl: jmp l", 7), StopReason::kInstructionLimit);
  EXPECT_EQ(e.st().gpr[kR8], kCode + 2);
  EXPECT_EQ(e.st().gpr[kR10], 0x99u);
  EXPECT_EQ(e.st().gpr[kRbx], 1u);
  EXPECT_EQ(e.st().seg[kCs].selector, 0x2b);
  EXPECT_EQ(e.st().seg[kSs].selector, 0x23);
  EXPECT_TRUE(e.st().rflags & rflags::kIF);  // restored from R11
}

TEST(EmuExceptions, BadSegmentSelectorRaisesGpWithSelector) {
  Env e;
  e.long_mode(kCode);
  e.set_gate(vec::kGP, kHandlers);
  e.load(kHandlers, assemble(64, "pop r15\nhlt"));
  ASSERT_EQ(e.run_code("mov ax, 0x80\nmov ds, ax\nhlt"), StopReason::kHalt);  // beyond GDT limit
  EXPECT_EQ(e.st().gpr[kR15], 0x80u);
}

TEST(EmuExceptions, InvalidOpcodeRaisesUd) {
  Env e;
  e.long_mode(kCode);
  e.set_gate(vec::kUD, kHandlers);
  e.load(kHandlers, assemble(64, "mov r15, [rsp]\nhlt"));
  e.load(kCode, {0x90, 0x0f, 0x0b});  // nop; ud2
  ASSERT_EQ(e.cpu.run(100), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], kCode + 1);
}

TEST(EmuExceptions, NmiIsDeliveredAndBlockedUntilIret) {
  Env e;
  e.long_mode(kCode);
  FakeController ic;
  e.cpu.set_interrupt_controller(&ic);
  e.set_gate(vec::kNMI, kHandlers);
  e.load(kHandlers, assemble(64, "inc r12\niretq"));
  ic.nmi = true;
  ASSERT_EQ(e.run_code("nop\nnop\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR12], 1u);
}

}  // namespace
}  // namespace vessel::engine::emu::test
