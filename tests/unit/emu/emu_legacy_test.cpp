// Legacy instructions: BCD adjustment (DAA DAS AAA AAS AAM AAD), XLAT, BOUND, SALC, INTO — run
// in compatibility mode (32-bit code under the long-mode test environment, faults through its
// 64-bit IDT), and their #UD in 64-bit mode. Expected values are worked out from the SDM's
// pseudo-code for each instruction; only architecturally defined flags are compared.
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kCF = rflags::kCF, kPF = rflags::kPF, kAF = rflags::kAF, kZF = rflags::kZF,
                   kSF = rflags::kSF;

class EmuLegacyTest : public ::testing::Test {
 protected:
  Env env;
  void SetUp() override {
    env.long_mode(kCode);
    // Every fault handler records its vector in R15 and halts.
    for (unsigned v : {vec::kDE, vec::kOF, vec::kBR, vec::kUD}) {
      const uint64_t at = kHandlers + 0x100 * v;
      env.set_gate(v, at);
      env.load(at, assemble(64, "mov r15, " + std::to_string(v) + "\nhlt"));
    }
    reg(kR15) = 0xff;
  }
  uint64_t& reg(Gpr r) { return env.st().gpr[r]; }
  // Runs 32-bit code in compatibility mode (GDT 0x18: 32-bit code, DPL 0) up to its HLT. Each
  // snippet gets its own page: decoded blocks are not invalidated by host-side writes.
  void run32(const std::string& src) {
    const uint64_t at = kCode + 0x1000 * snippets_++;
    env.st().seg[kCs].selector = 0x18;
    env.st().seg[kCs].l = false;
    env.st().seg[kCs].db = true;
    env.st().rip = at;
    env.st().gpr[kRsp] = kStack;
    env.st().events.halted = false;
    env.cpu.state_changed();
    env.load(at, assemble(32, src + "\nhlt", at));
    ASSERT_EQ(env.cpu.run(10000), StopReason::kHalt) << env.cpu.error();
  }
  unsigned snippets_ = 0;
  uint64_t flags(uint64_t mask) { return env.st().rflags & mask; }
};

TEST_F(EmuLegacyTest, DaaAfterPackedBcdAddition) {
  run32("mov al, 0x79\nadd al, 0x35\ndaa");  // 79 + 35 = 114: AL 14, decimal carry
  EXPECT_EQ(reg(kRax) & 0xff, 0x14u);
  EXPECT_EQ(flags(kCF | kAF | kZF | kSF | kPF), kCF | kAF | kPF);
}

TEST_F(EmuLegacyTest, DaaWithoutAdjustmentClearsCarry) {
  run32("mov al, 0x12\nadd al, 0x34\nstc\ndaa");  // 46, but CF was set before: + 60h
  EXPECT_EQ(reg(kRax) & 0xff, 0xa6u);
  EXPECT_EQ(flags(kCF | kAF | kZF | kSF), kCF | kSF);
  run32("mov al, 0x12\nadd al, 0x34\ndaa");
  EXPECT_EQ(reg(kRax) & 0xff, 0x46u);
  EXPECT_EQ(flags(kCF | kAF | kZF | kSF), 0u);
}

TEST_F(EmuLegacyTest, DasAfterPackedBcdSubtraction) {
  run32("mov al, 0x35\nsub al, 0x47\ndas");  // 35 - 47 = -12: AL 88 with a decimal borrow
  EXPECT_EQ(reg(kRax) & 0xff, 0x88u);
  EXPECT_EQ(flags(kCF | kAF | kZF | kSF | kPF), kCF | kAF | kSF | kPF);
  run32("mov al, 0x47\nsub al, 0x35\ndas");  // 12, nothing to adjust
  EXPECT_EQ(reg(kRax) & 0xff, 0x12u);
  EXPECT_EQ(flags(kCF | kAF | kZF | kSF), 0u);
}

TEST_F(EmuLegacyTest, AaaAndAasAdjustAx) {
  run32("mov eax, 0x12340009\nadd al, 8\naaa");  // 9 + 8 = 17: AH 1, AL 7
  EXPECT_EQ(reg(kRax), 0x12340107u);
  EXPECT_EQ(flags(kCF | kAF), kCF | kAF);
  run32("mov ax, 0x0102\nsub al, 5\naas");  // 12 - 5 = 7
  EXPECT_EQ(reg(kRax) & 0xffff, 0x0007u);
  EXPECT_EQ(flags(kCF | kAF), kCF | kAF);
  run32("mov ax, 0x05f3\nadd al, 0\naaa");  // ADD clears AF
  EXPECT_EQ(reg(kRax) & 0xffff, 0x0503u);
  EXPECT_EQ(flags(kCF | kAF), 0u);
}

TEST_F(EmuLegacyTest, AamAndAadConvertBinaryAndUnpackedBcd) {
  run32("mov ax, 73\naam");
  EXPECT_EQ(reg(kRax) & 0xffff, 0x0703u);
  EXPECT_EQ(flags(kZF | kSF | kPF), kPF);
  run32("mov ax, 0x0703\naad");
  EXPECT_EQ(reg(kRax) & 0xffff, 73u);
  EXPECT_EQ(flags(kZF | kSF | kPF), 0u);
  run32("mov ax, 0x00ff\naam 16");  // other bases: AH = AL / imm8, AL = AL % imm8
  EXPECT_EQ(reg(kRax) & 0xffff, 0x0f0fu);
  run32("mov ax, 0x0102\naad 16");
  EXPECT_EQ(reg(kRax) & 0xffff, 0x0012u);
  EXPECT_EQ(reg(kR15), 0xffu);
}

TEST_F(EmuLegacyTest, AamByZeroRaisesDivideError) {
  run32("mov ax, 0x1234\naam 0");
  EXPECT_EQ(reg(kR15), vec::kDE);
  EXPECT_EQ(reg(kRax) & 0xffff, 0x1234u);  // a fault: nothing written
}

TEST_F(EmuLegacyTest, XlatAndSalc) {
  env.load(0x5000, {0x10, 0x20, 0x30, 0x40, 0x50});
  run32(
      "mov ebx, 0x5000\nmov eax, 0xabcd0003\nxlatb\nmov ecx, eax\nstc\ndb 0xd6\nmov edx, eax\n"
      "clc\ndb 0xd6");
  EXPECT_EQ(reg(kRcx), 0xabcd0040u);
  EXPECT_EQ(reg(kRdx), 0xabcd00ffu);
  EXPECT_EQ(reg(kRax), 0xabcd0000u);
}

TEST_F(EmuLegacyTest, BoundPassesInRangeAndRaisesBr) {
  env.poke<int32_t>(0x6000, -5);
  env.poke<int32_t>(0x6004, 10);
  run32("mov eax, -5\nbound eax, [0x6000]\nmov eax, 10\nbound eax, [0x6000]\nmov esi, 1");
  EXPECT_EQ(reg(kRsi), 1u);
  EXPECT_EQ(reg(kR15), 0xffu);
  run32("mov eax, 11\nbound eax, [0x6000]\nmov esi, 2");
  EXPECT_EQ(reg(kR15), vec::kBR);
  EXPECT_EQ(reg(kRsi), 1u);
  reg(kR15) = 0xff;
  env.poke<int16_t>(0x6000, 0x100);
  env.poke<int16_t>(0x6002, 0x200);
  run32("mov ax, 0xff\nbound ax, [0x6000]");
  EXPECT_EQ(reg(kR15), vec::kBR);
}

TEST_F(EmuLegacyTest, IntoTrapsOnlyWithOverflow) {
  run32("mov al, 1\nadd al, 1\ninto\nmov esi, 3\nmov al, 0x7f\nadd al, 1\ninto\nmov esi, 4");
  EXPECT_EQ(reg(kRsi), 3u);
  EXPECT_EQ(reg(kR15), vec::kOF);
}

TEST_F(EmuLegacyTest, InvalidIn64BitMode) {
  uint64_t at = kCode + 0x10000;
  for (const char* bytes : {"db 0x27", "db 0x2f", "db 0x37", "db 0x3f", "db 0xd4, 10",
                            "db 0xd5, 10", "db 0xd6", "db 0xce", "db 0x62, 0x00"}) {
    SCOPED_TRACE(bytes);
    env.long_mode(at);
    reg(kR15) = 0xff;
    env.load(at, assemble(64, std::string(bytes) + "\nhlt", at));
    ASSERT_EQ(env.cpu.run(1000), StopReason::kHalt);
    EXPECT_EQ(reg(kR15), vec::kUD);
    at += 0x1000;
  }
}

}  // namespace
}  // namespace vessel::engine::emu::test
