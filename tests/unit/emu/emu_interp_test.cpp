// Interpreter tests: ALU results and flags, string instructions, LOCK forms, control flow,
// real mode and a real → protected → long mode switch, self-modifying code.
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kFlagMask =
    rflags::kCF | rflags::kPF | rflags::kAF | rflags::kZF | rflags::kSF | rflags::kOF;

TEST(EmuInterp, AddSetsOverflowAndSign) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code("mov eax, 0x7fffffff\nadd eax, 1\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 0x80000000u);
  const uint64_t f = e.st().rflags & kFlagMask;
  EXPECT_TRUE(f & rflags::kOF);
  EXPECT_TRUE(f & rflags::kSF);
  EXPECT_TRUE(f & rflags::kAF);
  EXPECT_FALSE(f & rflags::kCF);
  EXPECT_FALSE(f & rflags::kZF);
}

TEST(EmuInterp, SubBorrowAndZero) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code("mov rbx, 5\nsub rbx, 6\nsetc cl\nmov rdx, 3\nsub rdx, 3\nsetz ch\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRbx], ~0ull);
  EXPECT_EQ(e.st().gpr[kRcx] & 0xffff, 0x0101u);
}

TEST(EmuInterp, PartialRegisterWrites) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code("mov rax, -1\nmov al, 0x12\nmov ah, 0x34\nmov rbx, -1\nmov ebx, 7\n"
                       "mov rcx, -1\nmov cx, 0x5678\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 0xffffffffffff3412ull);
  EXPECT_EQ(e.st().gpr[kRbx], 7u);
  EXPECT_EQ(e.st().gpr[kRcx], 0xffffffffffff5678ull);
}

TEST(EmuInterp, MulDivAndDivideError) {
  Env e;
  e.long_mode(kCode);
  e.set_gate(vec::kDE, kHandlers);
  e.load(kHandlers, assemble(64, "mov r15, 0xde\nhlt"));
  ASSERT_EQ(
      e.run_code("mov rax, 0x100000000\nmov rcx, 0x100000000\nmul rcx\n"
                 "mov r8, rdx\nmov r9, rax\n"
                 "mov rax, 100\nxor edx, edx\nmov rcx, 7\ndiv rcx\nmov r10, rax\nmov r11, rdx\n"
                 "mov rax, -100\ncqo\nmov rcx, 7\nidiv rcx\nmov r12, rax\nmov r13, rdx\n"
                 "xor ecx, ecx\ndiv rcx\nhlt"),
      StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR8], 1u);
  EXPECT_EQ(e.st().gpr[kR9], 0u);
  EXPECT_EQ(e.st().gpr[kR10], 14u);
  EXPECT_EQ(e.st().gpr[kR11], 2u);
  EXPECT_EQ(e.st().gpr[kR12], static_cast<uint64_t>(-14));
  EXPECT_EQ(e.st().gpr[kR13], static_cast<uint64_t>(-2));
  EXPECT_EQ(e.st().gpr[kR15], 0xdeu);  // #DE delivered, RIP pushed = the faulting DIV
}

TEST(EmuInterp, ShiftsRotatesAndBits) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code("mov eax, 0x80000001\nshl eax, 1\nsetc bl\n"
                       "mov ecx, 0x12345678\nrol ecx, 8\n"
                       "mov edx, 0x100\nbsf esi, edx\nbsr edi, edx\n"
                       "mov r8, 0xf0f0\npopcnt r9, r8\nlzcnt r10, r8\n"
                       "mov r11, 0\nbts r11, 40\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 2u);
  EXPECT_EQ(e.st().gpr[kRbx] & 0xff, 1u);
  EXPECT_EQ(e.st().gpr[kRcx], 0x34567812u);
  EXPECT_EQ(e.st().gpr[kRsi], 8u);
  EXPECT_EQ(e.st().gpr[kRdi], 8u);
  EXPECT_EQ(e.st().gpr[kR9], 8u);
  EXPECT_EQ(e.st().gpr[kR10], 48u);
  EXPECT_EQ(e.st().gpr[kR11], 1ull << 40);
}

TEST(EmuInterp, BitTestWithRegisterOffsetAddressesBitString) {
  Env e;
  e.long_mode(kCode);
  e.poke<uint8_t>(0x50000 + 12, 0x10);  // bit 100 = byte 12, bit 4
  ASSERT_EQ(e.run_code("mov rax, 100\nbt dword [0x50000], eax\nsetc bl\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRbx] & 0xff, 1u);
}

TEST(EmuInterp, RepMovsAndScas) {
  Env e;
  e.long_mode(kCode);
  e.load(0x40000, {'h', 'e', 'l', 'l', 'o', 0});
  ASSERT_EQ(
      e.run_code("cld\nmov rsi, 0x40000\nmov rdi, 0x41000\nmov rcx, 6\nrep movsb\n"
                 "mov rdi, 0x41000\nmov al, 0\nmov rcx, -1\nrepne scasb\nnot rcx\ndec rcx\nhlt"),
      StopReason::kHalt);
  EXPECT_EQ(e.peek<uint32_t>(0x41000), 0x6c6c6568u);
  EXPECT_EQ(e.st().gpr[kRcx], 5u);  // strlen
}

TEST(EmuInterp, LockedOperations) {
  Env e;
  e.long_mode(kCode);
  e.poke<uint64_t>(0x42000, 10);
  ASSERT_EQ(e.run_code("mov rax, 5\nlock xadd [0x42000], rax\n"
                       "mov rax, 15\nmov rbx, 99\nlock cmpxchg [0x42000], rbx\nsetz cl\n"
                       "mov rax, 1\nmov rbx, 2\nlock cmpxchg [0x42000], rbx\nsetz dl\n"
                       "mov rsi, 7\nxchg [0x42008], rsi\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.peek<uint64_t>(0x42000), 99u);
  EXPECT_EQ(e.st().gpr[kRcx] & 0xff, 1u);
  EXPECT_EQ(e.st().gpr[kRdx] & 0xff, 0u);
  EXPECT_EQ(e.st().gpr[kRax], 99u);  // failed CMPXCHG loads the current value
  EXPECT_EQ(e.peek<uint64_t>(0x42008), 7u);
}

TEST(EmuInterp, CallRetPushPopEnterLeave) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code("call f\nmov rbx, rax\nhlt\nf: enter 16, 0\npush 42\npop rax\nleave\nret"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRbx], 42u);
  EXPECT_EQ(e.st().gpr[kRsp], kStack);
}

TEST(EmuInterp, CmovAndLoop) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(
      e.run_code("xor eax, eax\nmov ecx, 10\nl: add eax, ecx\nloop l\n"
                 "mov rbx, -1\ncmp eax, 55\ncmovne ebx, eax\nmov rdx, -1\ncmove edx, eax\nhlt"),
      StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 55u);
  EXPECT_EQ(e.st().gpr[kRbx], 0xffffffffu);  // 32-bit CMOV zero-extends even when false
  EXPECT_EQ(e.st().gpr[kRdx], 55u);
}

TEST(EmuInterp, PortIo) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code("mov dx, 0x3f8\nmov al, 'h'\nout dx, al\nmov al, 'i'\nout dx, al\n"
                       "in al, 0x60\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.io.port_out, "hi");
  EXPECT_EQ(e.io.pio_writes[0].first, 0x3f8);
  EXPECT_EQ(e.st().gpr[kRax] & 0xff, 0x5au);
}

TEST(EmuInterp, InstructionLimitIsExact) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code("l: inc rax\njmp l", 1001), StopReason::kInstructionLimit);
  EXPECT_EQ(e.st().gpr[kRax], 501u);
  EXPECT_EQ(e.cpu.instructions_retired(), 1001u);
}

TEST(EmuInterp, SelfModifyingCodeIsSeen) {
  Env e;
  e.long_mode(kCode);
  // Runs `mov eax, 1` once, patches its immediate to 2, jumps back.
  ASSERT_EQ(e.run_code("xor ebx, ebx\nagain:\ntarget: mov eax, 1\nadd ebx, eax\n"
                       "cmp ebx, 1\njne done\nmov byte [rel target+1], 2\njmp again\ndone: hlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRbx], 3u);
}

TEST(EmuInterp, RealModeArithmeticAndStack) {
  Env e;
  e.st() = real_mode_state(0x7c00, 0x7000);
  e.cpu.state_changed();
  e.load(0x7c00, assemble(16,
                          "mov ax, 0x1234\nmov bx, 0x10\nmov ds, bx\nmov [0], ax\n"
                          "push ax\npop cx\nmov dx, [0]\nhlt",
                          0x7c00));
  ASSERT_EQ(e.cpu.run(1000), StopReason::kHalt);
  EXPECT_EQ(e.peek<uint16_t>(0x100), 0x1234u);
  EXPECT_EQ(e.st().gpr[kRcx] & 0xffff, 0x1234u);
  EXPECT_EQ(e.st().gpr[kRdx] & 0xffff, 0x1234u);
  EXPECT_EQ(e.st().gpr[kRsp], 0x7000u);
}

TEST(EmuInterp, RealToProtectedToLongMode) {
  Env e;
  e.setup_gdt();
  e.setup_paging();
  e.st() = real_mode_state(0x7c00, 0x7000);
  e.cpu.state_changed();
  const std::string src = R"(
    cli
    lgdt [gdtr]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    jmp dword 0x18:pm
  gdtr: dw 0x47
    dd 0x1000
  bits 32
  pm:
    mov ax, 0x10
    mov ds, ax
    mov ss, ax
    mov esp, 0x80000
    mov eax, cr4
    or eax, 0x20
    mov cr4, eax
    mov eax, 0x10000
    mov cr3, eax
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x100
    wrmsr
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    jmp 0x08:lm
  bits 64
  lm:
    mov rax, 0x123456789
    mov rbx, cr0
    mov ecx, 0xc0000080
    rdmsr
    hlt
  )";
  e.load(0x7c00, assemble(16, src, 0x7c00));
  ASSERT_EQ(e.cpu.run(1000), StopReason::kHalt) << e.cpu.error();
  EXPECT_TRUE(e.cpu.mode64());
  EXPECT_EQ(e.st().gpr[kRax] & efer::kLMA, efer::kLMA);
  EXPECT_EQ(e.st().seg[kCs].selector, 0x08);
}

TEST(EmuInterp, CpuidAdvertisesLongModeAndVendor) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code("xor eax, eax\ncpuid\nmov r8d, ebx\nmov eax, 0x80000001\ncpuid\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR8], 0x756e6547u);  // "Genu"
  EXPECT_TRUE(e.st().gpr[kRdx] & (1u << 29));
  EXPECT_TRUE(e.st().gpr[kRdx] & (1u << 20));
}

// Linux trusts a TSC that is invariant and has TSC_ADJUST (no clocksource watchdog on it),
// takes the CPU frequency from leaf 16H (no PIT calibration) and, with ARAT, needs no PIT.
TEST(EmuInterp, CpuidAdvertisesInvariantTscAndFrequencies) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code("xor eax, eax\ncpuid\nmov r8d, eax\n"
                       "mov eax, 7\nxor ecx, ecx\ncpuid\nmov r9d, ebx\n"
                       "mov eax, 6\ncpuid\nmov r12d, eax\n"
                       "mov eax, 0x16\ncpuid\nmov r10d, eax\n"
                       "mov eax, 0x80000007\ncpuid\nmov r11d, edx\nhlt"),
            StopReason::kHalt);
  EXPECT_GE(e.st().gpr[kR8], 0x16u);
  EXPECT_TRUE(e.st().gpr[kR9] & (1u << 1));
  EXPECT_EQ(e.st().gpr[kR10], Cpu::kTscHz / 1'000'000);
  EXPECT_TRUE(e.st().gpr[kR11] & (1u << 8));
  EXPECT_TRUE(e.st().gpr[kR12] & (1u << 2));  // ARAT
}

// IA32_TSC_ADJUST (SDM Vol. 3B 17.17.3): starts at 0; writing it moves the TSC by the change;
// writing the TSC moves it by as much.
TEST(EmuInterp, TscAdjustMovesTheTsc) {
  Env e;
  e.long_mode(kCode);
  ASSERT_EQ(e.run_code(R"(
    mov ecx, 0x3b
    rdmsr
    mov r8, rax               ; initial TSC_ADJUST
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r9, rax               ; TSC before
    mov ecx, 0x3b
    mov eax, 0
    mov edx, 0x100            ; TSC_ADJUST = 0x100 << 32 (about 1100 s at 1 GHz)
    wrmsr
    rdtsc
    shl rdx, 32
    or rax, rdx
    mov r10, rax              ; TSC after
    mov ecx, 0x10
    xor eax, eax
    xor edx, edx
    wrmsr                     ; TSC = 0
    mov ecx, 0x3b
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov r11, rax              ; TSC_ADJUST after the TSC write
    hlt
  )"),
            StopReason::kHalt)
      << e.cpu.error();
  constexpr uint64_t kAdjust = 0x100ull << 32;
  EXPECT_EQ(e.st().gpr[kR8], 0u);
  const uint64_t moved = e.st().gpr[kR10] - e.st().gpr[kR9];
  EXPECT_GE(moved, kAdjust);
  EXPECT_LT(moved, kAdjust + 1'000'000'000ull);  // plus the time the instructions took
  // The TSC went from about r10 to 0: TSC_ADJUST went down by as much.
  const int64_t after = static_cast<int64_t>(e.st().gpr[kR11]);
  EXPECT_LT(after,
            static_cast<int64_t>(kAdjust) - static_cast<int64_t>(e.st().gpr[kR10]) + 1'000'000'000);
  EXPECT_GT(after,
            static_cast<int64_t>(kAdjust) - static_cast<int64_t>(e.st().gpr[kR10]) - 1'000'000'000);
}

TEST(EmuInterp, UnknownMsrRaisesGp) {
  Env e;
  e.long_mode(kCode);
  e.set_gate(vec::kGP, kHandlers);
  e.load(kHandlers, assemble(64, "pop r14\nhlt"));
  ASSERT_EQ(e.run_code("mov ecx, 0x12345\nrdmsr\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR14], 0u);                      // error code 0
  EXPECT_EQ(e.peek<uint64_t>(kStack - 40), kCode + 5);  // RIP of RDMSR (after the 5-byte mov)
}

}  // namespace
}  // namespace vessel::engine::emu::test
