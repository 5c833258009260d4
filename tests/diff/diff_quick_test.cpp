// The quick differential sample run by ctest: the hand corpus and 2,000 random cases against
// Unicorn and, where /dev/kvm is usable, against this machine's CPU (KVM, guest ring 3), which
// is trusted over Unicorn. Long runs use vessel-difftest.
#include <gtest/gtest.h>

#include "corpus.hpp"
#include "difftest.hpp"
#include "generator.hpp"

namespace vessel::difftest {
namespace {

TEST(DiffQuick, GeneratorIsReproducible) {
  const TestCase a = make_case(case_id(7, 3)), b = make_case(case_id(7, 3));
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.gpr, b.gpr);
  EXPECT_EQ(a.scratch, b.scratch);
  EXPECT_NE(make_case(case_id(7, 4)).code, a.code);
}

// The interpreter and the translator each against the same oracles.
class DiffQuickSample : public ::testing::TestWithParam<engine::emu::ExecMode> {
 protected:
  void SetUp() override {
    auto emu = make_emu_runner(GetParam());
    ASSERT_TRUE(emu) << emu.error().message;
    auto unicorn = make_unicorn_runner();
    ASSERT_TRUE(unicorn) << unicorn.error().message;
    std::vector<std::unique_ptr<Runner>> oracles;
    oracles.push_back(std::move(*unicorn));
    auto kvm = make_kvm_runner();
    if (kvm)
      oracles.push_back(std::move(*kvm));
    else
      std::printf("KVM oracle skipped: %s\n", kvm.error().message.c_str());
    have_kvm_ = oracles.size() == 2;
    session_.emplace(std::move(*emu), std::move(oracles), stdout, 10);
  }

  void expect_agreement(uint64_t cases) {
    const auto& stats = session_->stats();
    const OracleStats& unicorn = stats[0];
    EXPECT_EQ(unicorn.cases, cases);
    EXPECT_LT(unicorn.oracle_failures, cases / 5) << "Unicorn could not run most cases";
    if (have_kvm_) {
      EXPECT_EQ(stats[1].divergences, 0u) << "emu differs from the hardware: see the reports";
      EXPECT_EQ(stats[1].oracle_failures, 0u);
      EXPECT_EQ(unicorn.divergences, 0u) << "emu and the hardware both differ from Unicorn";
    } else {
      // Without the hardware, Unicorn's own deviations (BSF/BSR of 0 and 32-bit CMPXCHG
      // mismatches zero-extend the destination) cannot be told apart: allow a few.
      EXPECT_LE(unicorn.divergences, cases / 50) << "see the reports above";
    }
  }

  std::optional<Session> session_;
  bool have_kvm_ = false;
};

TEST_P(DiffQuickSample, Corpus) {
  const auto corpus = corpus_cases();
  for (const TestCase& tc : corpus) session_->check(tc);
  expect_agreement(corpus.size());
}

TEST_P(DiffQuickSample, RandomCases) {
  for (uint64_t i = 0; i < 2000; ++i) session_->check(make_case(case_id(0x5eed, i)));
  expect_agreement(2000);
}

INSTANTIATE_TEST_SUITE_P(Exec, DiffQuickSample,
                         ::testing::Values(engine::emu::ExecMode::kInterp,
                                           engine::emu::ExecMode::kJit),
                         [](const auto& info) {
                           return info.param == engine::emu::ExecMode::kJit ? "jit" : "interp";
                         });

}  // namespace
}  // namespace vessel::difftest
