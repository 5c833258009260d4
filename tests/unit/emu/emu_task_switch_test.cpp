// Hardware task switches and virtual-8086 mode in legacy protected mode (SDM Vol. 3A ch. 7 and
// ch. 20): JMP/CALL to TSSs and task gates, IRET through the back link, exceptions through a
// task gate with their error code on the new task's stack, the fault cases (busy TSS, limit,
// not present, privilege, a bad selector in the new TSS faulting in the new task), a 16-bit
// TSS, the T bit's #DB; IRET into v86 mode, IOPL-sensitive INT n, the I/O bitmap, and v86
// frames on ring 0.
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kTssA = 0x3000, kTssB = 0x3100, kTss16 = 0x3200, kTssV = 0x4000;
constexpr uint64_t kCodeB = kCode + 0x1000, kStackB = 0x90000, kHandlerStack = 0xa0000;

uint64_t tss_desc(uint64_t base, uint32_t limit, unsigned type, bool present = true) {
  return (limit & 0xffff) | ((base & 0xffffff) << 16) |
         (uint64_t{(present ? 0x80u : 0u) | type} << 40) | (uint64_t{(limit >> 16) & 0xf} << 48) |
         (((base >> 24) & 0xff) << 56);
}

Segment flat(uint16_t sel, uint8_t type) {
  Segment s;
  s.selector = sel;
  s.limit = 0xffffffff;
  s.type = type;
  s.db = s.g = true;
  return s;
}

// Every case runs in the interpreter and in the translator (translating each block at once).
class EmuTaskSwitchTest : public ::testing::TestWithParam<ExecMode> {
 protected:
  Env env;
  // GDT: 0x08 code32, 0x10 data, 0x18 TSS A (current), 0x20 TSS B, 0x28 task gate to B,
  // 0x30 TSS B with a limit below 0x67, 0x38 TSS B not present, 0x40 16-bit TSS,
  // 0x48 TSS V (a v86 task), 0x50 data DPL 3, 0x58 code32 DPL 3.
  void SetUp() override {
    env.cpu.set_exec_mode(GetParam());
    env.cpu.set_jit_threshold(0);
    const uint64_t d[] = {0,
                          0x00cf9b000000ffff,
                          0x00cf93000000ffff,
                          tss_desc(kTssA, 0x67, 0xb),
                          tss_desc(kTssB, 0x67, 0x9),
                          (0x20ull << 16) | (0x85ull << 40),
                          tss_desc(kTssB, 0x50, 0x9),
                          tss_desc(kTssB, 0x67, 0x9, false),
                          tss_desc(kTss16, 0x2b, 0x1),
                          tss_desc(kTssV, 0x67, 0x9),
                          0x00cff3000000ffff,
                          0x00cffb000000ffff};
    for (size_t i = 0; i < std::size(d); ++i) env.poke<uint64_t>(kGdt + 8 * i, d[i]);
    // Handlers: EDI = vector, then halt (the error code stays on the stack).
    for (unsigned v = 0; v < 0x40; ++v) {
      set_gate(v, kHandlers + 0x100 * v, 0x8e00);
      env.load(kHandlers + 0x100 * v, assemble(32, "mov edi, " + std::to_string(v) + "\nhlt"));
    }
    env.poke<uint32_t>(kTssA + 4, kHandlerStack);  // ESP0/SS0 for events from v86 mode
    env.poke<uint32_t>(kTssA + 8, 0x10);
    write_image(kTssB, kCodeB, kStackB, 0x08, 0x10);
    auto& s = env.st();
    s = flat_protected_mode_state(kCode);
    s.seg[kCs] = flat(0x08, 0xb);
    for (int i : {kSs, kDs, kEs, kFs, kGs}) s.seg[i] = flat(0x10, 0x3);
    s.gdt = {kGdt, 0x5f};
    s.idt = {kIdt, 0x40 * 8 - 1};
    s.seg[kTr] = Segment{0x18, kTssA, 0x67, 0xb, false, 0, true};
    s.gpr[kRsp] = kStack;
    s.gpr[kRdi] = 0xffff;
    env.cpu.state_changed();
  }
  void set_gate(unsigned v, uint64_t target, uint16_t attr, uint16_t sel = 0x08) {
    env.poke<uint64_t>(kIdt + 8 * v, (target & 0xffff) | (uint64_t{sel} << 16) |
                                         (uint64_t{attr} << 32) | ((target >> 16) << 48));
  }
  // A 32-bit TSS image: EIP, ESP, CS and the data segment for the others, EFLAGS 2.
  void write_image(uint64_t tss, uint32_t eip, uint32_t esp, uint16_t cs, uint16_t data,
                   uint32_t eflags = 2) {
    env.poke<uint32_t>(tss + 0x20, eip);
    env.poke<uint32_t>(tss + 0x24, eflags);
    env.poke<uint32_t>(tss + 0x28, 0x1111);  // EAX
    env.poke<uint32_t>(tss + 0x38, esp);
    for (unsigned i = 0; i < 6; ++i) env.poke<uint32_t>(tss + 0x48 + 4 * i, data);
    env.poke<uint32_t>(tss + 0x4c, cs);
  }
  void run(const std::string& a, const std::string& b = "hlt") {
    env.load(kCode, assemble(32, a, kCode));
    env.load(kCodeB, assemble(32, b, kCodeB));
    ASSERT_EQ(env.cpu.run(1000), StopReason::kHalt) << env.cpu.error();
  }
  // TSS A gets an I/O bitmap: port 0x80 open, everything else closed.
  void io_bitmap_port_80() {
    env.poke<uint64_t>(kGdt + 0x18, tss_desc(kTssA, 0x68 + 0x2000, 0xb));
    env.st().seg[kTr].limit = 0x68 + 0x2000;
    env.poke<uint16_t>(kTssA + 0x66, 0x68);
    for (uint32_t i = 0; i <= 0x2000; ++i) env.poke<uint8_t>(kTssA + 0x68 + i, 0xff);
    env.poke<uint8_t>(kTssA + 0x68 + 0x80 / 8, 0xfe);
  }
  uint8_t access_byte(uint16_t sel) { return env.peek<uint8_t>(kGdt + sel + 5); }
  uint64_t& reg(Gpr r) { return env.st().gpr[r]; }
};

TEST_P(EmuTaskSwitchTest, JmpToTssSavesOldStateAndLoadsNew) {
  run("mov ebx, 0x77\njmp 0x20:0");
  EXPECT_EQ(env.st().seg[kTr].selector, 0x20);
  EXPECT_EQ(env.st().rip, kCodeB + 1);  // after B's HLT
  EXPECT_EQ(reg(kRax), 0x1111u);
  EXPECT_EQ(reg(kRsp), kStackB);
  EXPECT_EQ(env.peek<uint32_t>(kTssA + 0x34), 0x77u);          // A's EBX
  EXPECT_EQ(env.peek<uint32_t>(kTssA + 0x20), kCode + 5 + 7);  // A's EIP: after the JMP
  EXPECT_EQ(access_byte(0x18), 0x89);                          // A available, B busy
  EXPECT_EQ(access_byte(0x20), 0x8b);
  EXPECT_EQ(env.peek<uint16_t>(kTssB), 0u);  // no back link for a JMP
  EXPECT_FALSE(env.st().rflags & rflags::kNT);
  EXPECT_TRUE(env.st().cr0 & cr0::kTS);
  EXPECT_EQ(reg(kRdi), 0u);  // B's EDI: no handler ran
}

TEST_P(EmuTaskSwitchTest, CallThroughTaskGateNestsAndIretReturns) {
  run("mov ebx, 0x55\ncall 0x28:0\nmov esi, ebx\nhlt",
      "pushfd\npop dword [0x7000]\nmov ebx, 1\niretd");
  EXPECT_EQ(env.st().seg[kTr].selector, 0x18);
  EXPECT_EQ(reg(kRsi), 0x55u);                            // A's registers came back
  EXPECT_TRUE(env.peek<uint32_t>(0x7000) & rflags::kNT);  // B ran nested
  EXPECT_EQ(env.peek<uint16_t>(kTssB), 0x18);             // with A in its back link
  EXPECT_EQ(access_byte(0x18), 0x8b);
  EXPECT_EQ(access_byte(0x20), 0x89);                            // IRET freed B
  EXPECT_FALSE(env.peek<uint32_t>(kTssB + 0x24) & rflags::kNT);  // B saved without NT
  EXPECT_EQ(reg(kRdi), 0xffffu);
}

TEST_P(EmuTaskSwitchTest, JmpToBusyTssIsGp) {
  run("jmp 0x18:0");
  EXPECT_EQ(reg(kRdi), vec::kGP);
  EXPECT_EQ(env.peek<uint32_t>(kStack - 16), 0x18u);  // error code: the TSS selector
  EXPECT_EQ(env.st().seg[kTr].selector, 0x18);
}

TEST_P(EmuTaskSwitchTest, TssLimitBelowMinimumIsTs) {
  run("jmp 0x30:0");
  EXPECT_EQ(reg(kRdi), vec::kTS);
  EXPECT_EQ(env.peek<uint32_t>(kStack - 16), 0x30u);
  EXPECT_EQ(env.st().seg[kTr].selector, 0x18);
  EXPECT_EQ(access_byte(0x18), 0x8b);  // nothing changed
}

TEST_P(EmuTaskSwitchTest, TssNotPresentIsNp) {
  run("jmp 0x38:0");
  EXPECT_EQ(reg(kRdi), vec::kNP);
  EXPECT_EQ(env.peek<uint32_t>(kStack - 16), 0x38u);
}

TEST_P(EmuTaskSwitchTest, TssDplBelowRplIsGp) {
  run("jmp 0x23:0");  // RPL 3 on a DPL-0 TSS
  EXPECT_EQ(reg(kRdi), vec::kGP);
  EXPECT_EQ(env.peek<uint32_t>(kStack - 16), 0x20u);
}

TEST_P(EmuTaskSwitchTest, BadCodeSegmentInNewTaskFaultsInNewTask) {
  env.poke<uint32_t>(kTssB + 0x4c, 0x10);  // CS: a data segment
  run("jmp 0x20:0");
  EXPECT_EQ(reg(kRdi), vec::kTS);
  EXPECT_EQ(env.st().seg[kTr].selector, 0x20);          // the switch had committed
  EXPECT_EQ(env.peek<uint32_t>(kStackB - 16), 0x10u);   // on B's stack: #TS(CS selector)
  EXPECT_EQ(env.peek<uint32_t>(kStackB - 12), kCodeB);  // the faulting EIP: B's first
}

TEST_P(EmuTaskSwitchTest, IretWithNtAndNonBusyBackLinkIsTs) {
  env.poke<uint16_t>(kTssA, 0x20);  // back link to an available TSS
  run("pushfd\nor dword [esp], 0x4000\npopfd\niretd");
  EXPECT_EQ(reg(kRdi), vec::kTS);
  EXPECT_EQ(env.peek<uint32_t>(kStack - 16), 0x20u);
}

TEST_P(EmuTaskSwitchTest, ExceptionThroughTaskGatePushesErrorOnNewStack) {
  set_gate(vec::kGP, 0, 0x8500, 0x20);  // IDT 13: task gate to TSS B
  run("jmp 0x18:0", "mov ecx, esp\npushfd\npop ebp\nhlt");
  EXPECT_EQ(env.st().seg[kTr].selector, 0x20);
  EXPECT_EQ(reg(kRcx), kStackB - 4);
  EXPECT_EQ(env.peek<uint32_t>(kStackB - 4), 0x18u);            // #GP(busy TSS A)
  EXPECT_EQ(env.peek<uint32_t>(kTssA + 0x20), kCode);           // A saved at the faulting JMP
  EXPECT_TRUE(env.peek<uint32_t>(kTssA + 0x24) & rflags::kRF);  // a fault: RF in its EFLAGS
  EXPECT_EQ(env.peek<uint16_t>(kTssB), 0x18);
  EXPECT_TRUE(reg(kRbp) & rflags::kNT);
  EXPECT_EQ(access_byte(0x18), 0x8b);
}

TEST_P(EmuTaskSwitchTest, TssTBitRaisesDebugTrapInTheNewTask) {
  env.poke<uint16_t>(kTssB + 0x64, 1);  // T
  run("jmp 0x20:0", "mov edi, 0x77\nhlt");
  EXPECT_EQ(reg(kRdi), vec::kDB);             // before the new task's first instruction
  EXPECT_EQ(env.st().dr6 & 0xe00f, 0x8000u);  // BT alone
  EXPECT_EQ(env.st().seg[kTr].selector, 0x20);
  EXPECT_EQ(env.peek<uint32_t>(kStackB - 12), kCodeB);     // #DB's return EIP, on B's stack
  EXPECT_EQ(env.peek<uint32_t>(kTssA + 0x20), kCode + 7);  // A saved after its JMP
}

TEST_P(EmuTaskSwitchTest, TssTBitTrapComesAfterAnEventsErrorCode) {
  env.poke<uint16_t>(kTssB + 0x64, 1);
  set_gate(vec::kGP, 0, 0x8500, 0x20);  // IDT 13: task gate to TSS B
  run("jmp 0x18:0");                    // #GP(busy TSS A) through the gate
  EXPECT_EQ(reg(kRdi), vec::kDB);
  EXPECT_EQ(env.st().dr6 & 0x8000, 0x8000u);
  EXPECT_EQ(env.peek<uint32_t>(kStackB - 4), 0x18u);  // the error code, then the #DB frame
  EXPECT_EQ(env.peek<uint32_t>(kStackB - 16), kCodeB);
}

TEST_P(EmuTaskSwitchTest, TssWithoutTBitRaisesNoDebugTrap) {
  run("jmp 0x20:0", "mov edi, 0x77\nhlt");
  EXPECT_EQ(reg(kRdi), 0x77u);
  EXPECT_EQ(env.st().dr6 & 0x8000, 0u);
}

TEST_P(EmuTaskSwitchTest, SixteenBitTssLoadsLowHalves) {
  env.poke<uint16_t>(kTss16 + 0x0e, 0x6000);  // IP (CS base 0)
  env.poke<uint16_t>(kTss16 + 0x10, 0x0002);  // FLAGS
  env.poke<uint16_t>(kTss16 + 0x12, 0xbeef);  // AX
  env.poke<uint16_t>(kTss16 + 0x1a, 0x8000);  // SP
  for (unsigned off : {0x22u, 0x26u, 0x28u}) env.poke<uint16_t>(kTss16 + off, 0x10);
  env.poke<uint16_t>(kTss16 + 0x24, 0x08);              // CS
  env.load(0x6000, assemble(32, "mov edx, eax\nhlt"));  // below 64 KiB for a 16-bit IP
  run("mov eax, 0x12340000\njmp 0x40:0");
  EXPECT_EQ(env.st().seg[kTr].selector, 0x40);
  EXPECT_EQ(reg(kRdx), 0x1234beefu);  // upper half kept, low half from the TSS
  EXPECT_EQ(env.peek<uint32_t>(kTssA + 0x20), kCode + 5 + 7);  // A saved in the 32-bit format
  EXPECT_EQ(access_byte(0x40), 0x83);
}

// ---- Virtual-8086 mode ----

// IRET from ring 0 into v86 code at 0x800:0 (linear 0x8000), with EFLAGS `flags` | VM.
std::string iret_to_v86(uint32_t flags) {
  return "push dword 0x30\npush dword 0x40\npush dword 0x900\npush dword 0x900\n"
         "push dword 0x900\npush dword 0xff0\npush dword " +
         std::to_string(flags | 0x20002) + "\npush dword 0x800\npush dword 0\niretd";
}

TEST_P(EmuTaskSwitchTest, IretEntersV86WithRealModeSegments) {
  env.load(0x8000, assemble(16, "mov ax, [0]\nmov bx, cs\nmov cx, sp\nhlt"));
  env.poke<uint16_t>(0x9000, 0x4242);  // DS 0x900: offset 0 is linear 0x9000
  run(iret_to_v86(0));
  // HLT at CPL 3 is #GP(0), delivered to the ring-0 handler with the v86 frame.
  EXPECT_EQ(reg(kRdi), vec::kGP);
  EXPECT_EQ(reg(kRax) & 0xffff, 0x4242u);
  EXPECT_EQ(reg(kRbx) & 0xffff, 0x800u);
  EXPECT_EQ(reg(kRcx) & 0xffff, 0xff0u);
  // Frame on the ring-0 stack: error, EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS.
  const uint64_t f = kHandlerStack - 40;
  EXPECT_EQ(env.peek<uint32_t>(f), 0u);
  EXPECT_EQ(env.peek<uint32_t>(f + 4), 7u);  // the HLT, after 3 + 2 + 2 bytes
  EXPECT_EQ(env.peek<uint32_t>(f + 8), 0x800u);
  EXPECT_TRUE(env.peek<uint32_t>(f + 12) & rflags::kVM);
  EXPECT_EQ(env.peek<uint32_t>(f + 16), 0xff0u);
  EXPECT_EQ(env.peek<uint32_t>(f + 20), 0x900u);
  EXPECT_EQ(env.peek<uint32_t>(f + 32), 0x40u);  // FS
  EXPECT_EQ(env.peek<uint32_t>(f + 36), 0x30u);  // GS
  EXPECT_FALSE(env.st().rflags & rflags::kVM);
  EXPECT_EQ(env.st().seg[kDs].selector, 0u);  // data segments nulled on entry
  EXPECT_TRUE(env.st().seg[kDs].unusable);
  EXPECT_EQ(env.st().seg[kCs].selector, 0x08);
}

TEST_P(EmuTaskSwitchTest, V86IntNWithIoplBelow3IsGp) {
  env.load(0x8000, assemble(16, "int 0x21"));
  run(iret_to_v86(0));
  EXPECT_EQ(reg(kRdi), vec::kGP);
  EXPECT_EQ(env.peek<uint32_t>(kHandlerStack - 36), 0u);  // EIP: the INT itself
}

TEST_P(EmuTaskSwitchTest, V86IntNWithIopl3GoesThroughIdt) {
  set_gate(0x21, kHandlers + 0x2100, 0xee00);  // DPL 3
  env.load(kHandlers + 0x2100, assemble(32, "mov edi, 0x21\nhlt"));
  env.load(0x8000, assemble(16, "int 0x21"));
  run(iret_to_v86(0x3000));
  EXPECT_EQ(reg(kRdi), 0x21u);
  EXPECT_EQ(env.peek<uint32_t>(kHandlerStack - 36), 2u);  // no error code: EIP after the INT
}

TEST_P(EmuTaskSwitchTest, V86OutCheckedAgainstIoBitmap) {
  io_bitmap_port_80();
  env.load(0x8000, assemble(16, "mov al, 0x5a\nout 0x80, al\nmov bx, 1\nout 0x81, al"));
  run(iret_to_v86(0x3000));  // IOPL 3 does not matter for I/O in v86 mode
  EXPECT_EQ(reg(kRdi), vec::kGP);
  EXPECT_EQ(reg(kRbx) & 0xffff, 1u);                      // port 0x80 went through
  EXPECT_EQ(env.peek<uint32_t>(kHandlerStack - 36), 7u);  // #GP at OUT 0x81
  ASSERT_EQ(env.io.pio_writes.size(), 1u);
  EXPECT_EQ(env.io.pio_writes[0].first, 0x80);
  EXPECT_EQ(env.io.pio_writes[0].second, 0x5au);
}

TEST_P(EmuTaskSwitchTest, ProtectedModeCplAboveIoplUsesIoBitmap) {
  io_bitmap_port_80();
  auto& s = env.st();
  s.seg[kCs] = flat(0x5b, 0xb);
  s.seg[kCs].dpl = 3;
  for (int i : {kSs, kDs, kEs}) {
    s.seg[i] = flat(0x53, 0x3);
    s.seg[i].dpl = 3;
  }
  env.cpu.state_changed();
  run("mov al, 0x33\nout 0x80, al\nin al, 0x80\nmov ebx, 1\nin al, 0x81");  // IOPL 0, CPL 3
  EXPECT_EQ(reg(kRdi), vec::kGP);
  EXPECT_EQ(reg(kRbx), 1u);
  EXPECT_EQ(env.peek<uint32_t>(kHandlerStack - 24), 0u);          // #GP(0)
  EXPECT_EQ(env.peek<uint32_t>(kHandlerStack - 20), kCode + 11);  // at IN AL, 0x81
  ASSERT_EQ(env.io.pio_writes.size(), 1u);
  EXPECT_EQ(env.io.pio_writes[0].first, 0x80);
}

TEST_P(EmuTaskSwitchTest, EventFromRing3TakesStackFrom16BitTss) {
  env.poke<uint16_t>(kTss16 + 2, 0x7000);  // SP0
  env.poke<uint16_t>(kTss16 + 4, 0x10);    // SS0
  auto& s = env.st();
  s.seg[kTr] = Segment{0x40, kTss16, 0x2b, 0x3, false, 0, true};
  s.seg[kCs] = flat(0x5b, 0xb);
  s.seg[kCs].dpl = 3;
  for (int i : {kSs, kDs, kEs}) {
    s.seg[i] = flat(0x53, 0x3);
    s.seg[i].dpl = 3;
  }
  env.cpu.state_changed();
  run("hlt");  // #GP(0) at CPL 3
  EXPECT_EQ(reg(kRdi), vec::kGP);
  EXPECT_EQ(reg(kRsp), 0x7000u - 24);  // SS, ESP, EFLAGS, CS, EIP, error (32-bit gate)
  EXPECT_EQ(env.peek<uint32_t>(0x7000 - 4), 0x53u);
  EXPECT_EQ(env.peek<uint32_t>(0x7000 - 8), kStack);
}

TEST_P(EmuTaskSwitchTest, TaskSwitchToTssWithVmEntersV86) {
  write_image(kTssV, 0, 0xff0, 0x800, 0x900, 0x20002);
  env.poke<uint32_t>(kTssV + 4, kHandlerStack);  // ESP0/SS0 for the #GP out of v86 mode
  env.poke<uint32_t>(kTssV + 8, 0x10);
  env.load(0x8000, assemble(16, "mov ax, ds\nmov bx, [0]\nhlt"));
  env.poke<uint16_t>(0x9000, 0x1357);
  run("jmp 0x48:0");
  EXPECT_EQ(reg(kRdi), vec::kGP);  // the v86 HLT
  EXPECT_EQ(reg(kRax) & 0xffff, 0x900u);
  EXPECT_EQ(reg(kRbx) & 0xffff, 0x1357u);
  EXPECT_EQ(env.st().seg[kTr].selector, 0x48);
}

INSTANTIATE_TEST_SUITE_P(ExecModes, EmuTaskSwitchTest,
                         ::testing::Values(ExecMode::kInterp, ExecMode::kJit),
                         [](const auto& info) {
                           return info.param == ExecMode::kJit ? "Translator" : "Interpreter";
                         });

// IA-32e mode has no task switching (SDM Vol. 3A §7.7): a far JMP to the 64-bit TSS, a task
// gate in the IDT and IRET with NT = 1 raise #GP.
class EmuTaskSwitchLongModeTest : public ::testing::Test {
 protected:
  Env env;
  void SetUp() override {
    env.long_mode(kCode);
    for (unsigned v : {vec::kGP, vec::kUD}) {
      env.set_gate(v, kHandlers + 0x100 * v);
      env.load(kHandlers + 0x100 * v, assemble(64, "mov r15, " + std::to_string(v) + "\nhlt"));
    }
  }
  uint64_t error_code() { return env.peek<uint64_t>(kStack - 48); }
};

TEST_F(EmuTaskSwitchLongModeTest, FarJmpToTssIsGp) {
  env.poke<uint64_t>(0x7000, 0);
  env.poke<uint16_t>(0x7008, 0x38);
  ASSERT_EQ(env.run_code("jmp far [0x7000]"), StopReason::kHalt) << env.cpu.error();
  EXPECT_EQ(env.st().gpr[kR15], vec::kGP);
  EXPECT_EQ(error_code(), 0x38u);
  EXPECT_EQ(env.st().seg[kTr].selector, 0x38);
}

TEST_F(EmuTaskSwitchLongModeTest, IdtTaskGateIsGp) {
  env.poke<uint64_t>(kIdt + 16 * 0x40, (0x38ull << 16) | (0x85ull << 40));
  env.poke<uint64_t>(kIdt + 16 * 0x40 + 8, 0);
  ASSERT_EQ(env.run_code("int 0x40"), StopReason::kHalt) << env.cpu.error();
  EXPECT_EQ(env.st().gpr[kR15], vec::kGP);
  EXPECT_EQ(error_code(), 0x40u * 8 + 2);  // the IDT entry, IDT bit set
}

TEST_F(EmuTaskSwitchLongModeTest, IretWithNtIsGp) {
  ASSERT_EQ(env.run_code("pushfq\nor qword [rsp], 0x4000\npopfq\niretq"), StopReason::kHalt)
      << env.cpu.error();
  EXPECT_EQ(env.st().gpr[kR15], vec::kGP);
  EXPECT_EQ(error_code(), 0u);
}

}  // namespace
}  // namespace vessel::engine::emu::test
