// x87 and FXSAVE/FXRSTOR tests: FNINIT state, loads/stores in every width, arithmetic with the
// Intel operand order of the P/R forms, FIST rounding under FCW.RC, compares, stack underflow,
// #NM with CR0.TS, #MF for pending unmasked exceptions (CR0.NE), and the exact FXSAVE64/legacy
// FXSAVE image layout with an FXRSTOR round trip.
#include <cstring>

#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kData = 0x300000;

struct FpuEnv : Env {
  FpuEnv() {
    long_mode(kCode);
    st().cr4 |= cr4::kOSFXSR;
  }
  void trap(uint8_t v) {
    set_gate(v, kHandlers + 16 * v);
    load(kHandlers + 16 * v, assemble(64, "mov r15, " + std::to_string(v) + "\nhlt"));
  }
};

TEST(EmuX87, FninitControlAndStatusWords) {
  FpuEnv e;
  e.st().fpu.fcw = 0;
  e.st().fpu.fsw = 0x3800;
  e.st().fpu.ftw = 0xff;
  ASSERT_EQ(e.run_code("fninit\nfnstcw [0x300000]\nfnstsw ax\nmov bx, ax\nfld1\nfnstsw ax\n"
                       "mov word [0x300002], 0x0c7f\nfldcw [0x300002]\nfnstcw [0x300004]\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.peek<uint16_t>(kData), 0x37fu);
  EXPECT_EQ(e.st().gpr[kRbx] & 0xffff, 0u);
  EXPECT_EQ(e.st().gpr[kRax] & 0xffff, 7u << 11);  // TOP = 7 after one push
  EXPECT_EQ(e.peek<uint16_t>(kData + 4), 0x0c7fu);
  EXPECT_EQ(e.st().fpu.ftw, 0x80u);  // physical register 7 valid
}

TEST(EmuX87, LoadStoreWidthsAndArithmetic) {
  FpuEnv e;
  e.poke<double>(kData, 10.0);
  e.poke<float>(kData + 8, 4.0f);
  e.poke<int32_t>(kData + 12, -3);
  ASSERT_EQ(e.run_code("fninit\n"
                       "fld qword [0x300000]\nfld dword [0x300008]\n"  // ST0 = 4, ST1 = 10
                       "fsub st1, st0\n"                               // ST1 = 10 - 4 = 6
                       "fdivr st0, st1\n"                              // ST0 = 6 / 4 = 1.5
                       "fstp qword [0x300010]\n"                       // 1.5; ST0 = 6
                       "fiadd dword [0x30000c]\n"                      // 6 + -3 = 3
                       "fld1\nfsubp st1, st0\n"                        // 3 - 1 = 2
                       "fld st0\nfmulp st1, st0\n"                     // 4
                       "fst dword [0x300018]\n"
                       "fstp tword [0x300020]\n"
                       "fld tword [0x300020]\nfchs\nfistp qword [0x300030]\n"
                       "fnstsw ax\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.peek<double>(kData + 0x10), 1.5);
  EXPECT_EQ(e.peek<float>(kData + 0x18), 4.0f);
  long double t = 0;
  uint8_t raw[16] = {};
  for (int i = 0; i < 10; ++i) raw[i] = e.peek<uint8_t>(kData + 0x20 + i);
  std::memcpy(&t, raw, 10);
  EXPECT_EQ(t, 4.0L);
  EXPECT_EQ(e.peek<int64_t>(kData + 0x30), -4);
  EXPECT_EQ((e.st().gpr[kRax] >> 11) & 7, 0u);  // stack empty again
  EXPECT_EQ(e.st().fpu.ftw, 0u);
}

TEST(EmuX87, FistRoundsPerControlWord) {
  FpuEnv e;
  e.poke<double>(kData, -2.5);
  std::string code = "fninit\n";
  for (int rc = 0; rc < 4; ++rc) {
    code += "mov word [0x300008], " + std::to_string(0x37f | (rc << 10)) + "\n";
    code += "fldcw [0x300008]\nfld qword [0x300000]\nfistp dword [" +
            std::to_string(0x300010 + 4 * rc) + "]\n";
  }
  code +=
      "fninit\nmov dword [0x300020], 0x7f800000\nfld dword [0x300020]\n"
      "fistp word [0x300024]\nfnstsw ax\nhlt";
  ASSERT_EQ(e.run_code(code), StopReason::kHalt);
  const int32_t want[] = {-2, -3, -2, -2};  // nearest-even, down, up, truncate
  for (int rc = 0; rc < 4; ++rc) EXPECT_EQ(e.peek<int32_t>(kData + 0x10 + 4 * rc), want[rc]);
  EXPECT_EQ(e.peek<uint16_t>(kData + 0x24), 0x8000u);  // integer indefinite
  EXPECT_TRUE(e.st().gpr[kRax] & 1);                   // IE
}

TEST(EmuX87, ComparesAndUnderflow) {
  FpuEnv e;
  ASSERT_EQ(e.run_code("fninit\nfld1\nfldz\n"  // ST0 = 0, ST1 = 1
                       "fcomi st0, st1\npushfq\npop r8\n"
                       "fcom st1\nfnstsw ax\nmov r9, rax\n"
                       "fxch st1\nfcomi st0, st1\npushfq\npop r10\n"
                       "fcompp\nfnclex\nfadd st0, st1\nfnstsw ax\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR8] & (rflags::kZF | rflags::kCF | rflags::kPF), rflags::kCF);
  EXPECT_EQ(e.st().gpr[kR9] & 0x4500, 0x0100u);  // C0: ST0 < ST1
  EXPECT_EQ(e.st().gpr[kR10] & (rflags::kZF | rflags::kCF | rflags::kPF), 0u);
  EXPECT_EQ(e.st().gpr[kRax] & 0x41, 0x41u);  // empty registers: IE | SF
}

TEST(EmuX87, NmWithTsOrEm) {
  for (uint64_t bit : {cr0::kTS, cr0::kEM}) {
    FpuEnv e;
    e.trap(vec::kNM);
    e.st().cr0 |= bit;
    ASSERT_EQ(e.run_code("fld1\nmov r14, 1\nhlt"), StopReason::kHalt);
    EXPECT_EQ(e.st().gpr[kR15], vec::kNM);
    EXPECT_EQ(e.st().gpr[kR14], 0u);
  }
}

TEST(EmuX87, FnstenvFullTagsAndFldenv) {
  FpuEnv e;
  ASSERT_EQ(
      e.run_code("fninit\nfld1\nfldz\nfnstenv [0x300000]\nfnstenv [0x300080]\n"  // R7 = 1.0
                                                                                 // (valid), R6 = 0
                 "fninit\nmov word [0x300000], 0x0c7f\nfldenv [0x300000]\nfnstsw ax\n"
                 "fstp qword [0x300040]\nfstp qword [0x300048]\nhlt"),
      StopReason::kHalt);
  EXPECT_EQ(e.peek<uint16_t>(kData + 0x80), 0x037fu);       // FCW
  EXPECT_EQ(e.peek<uint16_t>(kData + 0x84) >> 11 & 7, 6u);  // FSW.TOP
  EXPECT_EQ(e.peek<uint16_t>(kData + 0x88), 0x1fffu);       // R7 valid (00), R6 zero (01)
  EXPECT_EQ((e.st().gpr[kRax] >> 11) & 7, 6u);              // TOP restored by FLDENV
  EXPECT_EQ(e.st().fpu.fcw, 0x0c7fu);
  EXPECT_EQ(e.peek<double>(kData + 0x40), 0.0);  // registers kept their values
  EXPECT_EQ(e.peek<double>(kData + 0x48), 1.0);
}

TEST(EmuFxsave, Fxsave64ImageLayoutAndRoundTrip) {
  FpuEnv e;
  auto& f = e.st().fpu;
  f.fcw = 0x027f;
  f.fsw = 0x3821;
  f.ftw = 0x81;
  f.fop = 0x1de;
  f.fip = 0x1122334455667788ull;
  f.fdp = 0x99aabbccddeeff00ull;
  f.mxcsr = 0x1fa0;
  for (int i = 0; i < 8; ++i)
    for (int b = 0; b < 10; ++b) f.st[i][b] = static_cast<uint8_t>(0x10 * i + b);
  for (int i = 0; i < 16; ++i)
    for (int b = 0; b < 16; ++b) f.xmm[i][b] = static_cast<uint8_t>(0x80 + 4 * i + b);
  for (uint64_t a = kData; a < kData + 512; a += 8) e.poke<uint64_t>(a, 0xa5a5a5a5a5a5a5a5ull);
  ASSERT_EQ(e.run_code("fxsave64 [0x300000]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.peek<uint16_t>(kData + 0), 0x027fu);
  EXPECT_EQ(e.peek<uint16_t>(kData + 2), 0x3821u);
  EXPECT_EQ(e.peek<uint8_t>(kData + 4), 0x81u);
  EXPECT_EQ(e.peek<uint16_t>(kData + 6), 0x1deu);
  EXPECT_EQ(e.peek<uint64_t>(kData + 8), 0x1122334455667788ull);
  EXPECT_EQ(e.peek<uint64_t>(kData + 16), 0x99aabbccddeeff00ull);
  EXPECT_EQ(e.peek<uint32_t>(kData + 24), 0x1fa0u);
  EXPECT_EQ(e.peek<uint32_t>(kData + 28), 0xffffu);  // MXCSR_MASK
  for (int i = 0; i < 8; ++i) {
    for (int b = 0; b < 10; ++b)
      EXPECT_EQ(e.peek<uint8_t>(kData + 32 + 16 * i + b), 0x10 * i + b) << "st" << i;
  }
  for (int i = 0; i < 16; ++i)
    for (int b = 0; b < 16; ++b)
      EXPECT_EQ(e.peek<uint8_t>(kData + 160 + 16 * i + b), 0x80 + 4 * i + b) << "xmm" << i;
  EXPECT_EQ(e.peek<uint64_t>(kData + 464), 0xa5a5a5a5a5a5a5a5ull);  // software area untouched

  // Round trip: clobber everything, FXRSTOR64 the image, compare.
  const FpuState saved = f;
  e.poke<uint32_t>(kData + 24, 0x3f80);  // RC = down, restored below
  // A second program at a fresh address (the first block stays cached at kCode).
  const uint64_t second = kCode + 0x1000;
  e.load(second, assemble(64,
                          "fninit\npxor xmm3, xmm3\npxor xmm15, xmm15\n"
                          "fxrstor64 [0x300000]\nhlt",
                          second));
  e.st().rip = second;
  e.st().events.halted = false;
  e.cpu.state_changed();
  ASSERT_EQ(e.cpu.run(1000), StopReason::kHalt);
  EXPECT_EQ(f.fcw, saved.fcw);
  EXPECT_EQ(f.fsw, saved.fsw);
  EXPECT_EQ(f.ftw, saved.ftw);
  EXPECT_EQ(f.fip, saved.fip);
  EXPECT_EQ(f.fdp, saved.fdp);
  EXPECT_EQ(f.mxcsr, 0x3f80u);
  EXPECT_EQ(f.st, saved.st);
  EXPECT_EQ(f.xmm, saved.xmm);
}

TEST(EmuFxsave, LegacyLayoutTruncatesPointers) {
  FpuEnv e;
  e.st().fpu.fip = 0x1122334455667788ull;
  e.st().fpu.fdp = 0x99aabbccddeeff00ull;
  for (uint64_t a = kData; a < kData + 32; a += 8) e.poke<uint64_t>(a, ~0ull);
  ASSERT_EQ(e.run_code("fxsave [0x300000]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.peek<uint32_t>(kData + 8), 0x55667788u);
  EXPECT_EQ(e.peek<uint16_t>(kData + 12), 0u);  // FCS
  EXPECT_EQ(e.peek<uint32_t>(kData + 16), 0xddeeff00u);
  EXPECT_EQ(e.peek<uint16_t>(kData + 20), 0u);  // FDS
}

TEST(EmuFxsave, MisalignedOrBadMxcsrIsGp) {
  FpuEnv e;
  e.trap(vec::kGP);
  ASSERT_EQ(e.run_code("fxsave64 [0x300008]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], vec::kGP);
  FpuEnv g;
  g.trap(vec::kGP);
  g.poke<uint32_t>(kData + 24, 0x10000);
  ASSERT_EQ(g.run_code("fxrstor64 [0x300000]\nmov r14, 1\nhlt"), StopReason::kHalt);
  EXPECT_EQ(g.st().gpr[kR15], vec::kGP);
  EXPECT_EQ(g.st().gpr[kR14], 0u);
  EXPECT_EQ(g.st().fpu.mxcsr, 0x1f80u);
}

TEST(EmuFxsave, NmWithTs) {
  FpuEnv e;
  e.trap(vec::kNM);
  e.st().cr0 |= cr0::kTS;
  ASSERT_EQ(e.run_code("fxsave64 [0x300000]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], vec::kNM);
}

// Zero divide unmasked (FCW 0x37b): FDIV sets ZE, ES and B; FNSTSW (non-waiting) reads them;
// the next waiting instruction (FWAIT here) raises #MF with CR0.NE, before it runs.
TEST(EmuX87, PendingUnmaskedExceptionRaisesMfWithNe) {
  FpuEnv e;
  e.st().cr0 |= cr0::kNE;
  e.trap(vec::kMF);
  ASSERT_EQ(e.run_code("fninit\npush 0x37b\nfldcw [rsp]\nfld1\nfldz\nfdivp\nfnstsw ax\n"
                       "mov r14, 1\nfwait\nmov r13, 1\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], vec::kMF);
  EXPECT_EQ(e.st().gpr[kR14], 1u);
  EXPECT_EQ(e.st().gpr[kR13], 0u);
  EXPECT_EQ(e.st().gpr[kRax] & 0x8084, 0x8084u);  // B, ES, ZE
}

TEST(EmuX87, FnclexClearsThePendingExceptionAndNeZeroIgnoresIt) {
  FpuEnv e;
  e.st().cr0 |= cr0::kNE;
  e.trap(vec::kMF);
  ASSERT_EQ(e.run_code("fninit\npush 0x37b\nfldcw [rsp]\nfld1\nfldz\nfdivp\nfnclex\n"
                       "fwait\nfld1\nmov r13, 1\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR13], 1u);
  EXPECT_NE(e.st().gpr[kR15], vec::kMF);

  FpuEnv legacy;  // CR0.NE = 0: the error would go to FERR#, the instructions run
  legacy.trap(vec::kMF);
  ASSERT_EQ(legacy.run_code("fninit\npush 0x37b\nfldcw [rsp]\nfld1\nfldz\nfdivp\nfwait\n"
                            "fld1\nmov r13, 1\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(legacy.st().gpr[kR13], 1u);
  EXPECT_NE(legacy.st().gpr[kR15], vec::kMF);
}

}  // namespace
}  // namespace vessel::engine::emu::test
