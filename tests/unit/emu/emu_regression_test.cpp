// Regressions found by the differential tests (tests/diff): each case is a divergence of the
// software engine from this machine's CPU (Intel, through KVM in guest ring 3). The expected
// values are what the hardware produced for the same instruction and inputs.
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

class EmuRegressionTest : public ::testing::Test {
 protected:
  Env env;
  void SetUp() override { env.long_mode(kCode); }
  uint64_t& reg(Gpr r) { return env.st().gpr[r]; }
  void run(const std::string& src) {
    ASSERT_EQ(env.run_code(src + "\nhlt"), StopReason::kHalt) << env.cpu.error();
  }
};

// bsf eax, ecx with ECX = 0: hardware keeps all of RAX (no zero-extension) and sets ZF.
TEST_F(EmuRegressionTest, BsfBsr32WithZeroSourceKeepUpperHalf) {
  reg(kRax) = 0xdeadbeef00001234;
  reg(kRbx) = 0xdeadbeef00000007;
  reg(kRcx) = 0;
  run("bsf eax, ecx\nbsr ebx, ecx");
  EXPECT_EQ(reg(kRax), 0xdeadbeef00001234u);
  EXPECT_EQ(reg(kRbx), 0xdeadbeef00000007u);
  EXPECT_TRUE(env.st().rflags & rflags::kZF);
}

// cmpxchg edx, edi with EAX != EDX: hardware loads EAX from EDX (zero-extended) and leaves
// RDX untouched, upper half included.
TEST_F(EmuRegressionTest, Cmpxchg32RegisterMismatchLeavesDestination) {
  reg(kRax) = 0x1a;
  reg(kRdx) = 0xfffffffffffffffc;
  reg(kRdi) = 0x9f444f713c6d5014;
  run("cmpxchg edx, edi");
  EXPECT_EQ(reg(kRdx), 0xfffffffffffffffcu);
  EXPECT_EQ(reg(kRax), 0xfffffffcu);
  EXPECT_FALSE(env.st().rflags & rflags::kZF);
}

// The equal case still writes (and zero-extends) the destination.
TEST_F(EmuRegressionTest, Cmpxchg32RegisterMatchWritesDestination) {
  reg(kRax) = 0x5;
  reg(kRcx) = 0xdeadbeef00000005;
  reg(kRdx) = 0x1111111122222222;
  run("cmpxchg ecx, edx");
  EXPECT_EQ(reg(kRcx), 0x22222222u);
  EXPECT_EQ(reg(kRax), 0x5u);
  EXPECT_TRUE(env.st().rflags & rflags::kZF);
}

// xadd r10, r10: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP, so the register ends as the sum.
TEST_F(EmuRegressionTest, XaddSameRegisterLeavesTheSum) {
  reg(kR10) = 0x9fd6bff7;
  run("xadd r10, r10");
  EXPECT_EQ(reg(kR10), 0x13fad7feeu);
}

}  // namespace
}  // namespace vessel::engine::emu::test
