#include "difftest.hpp"

#include <fmt/format.h>

#include "compare.hpp"

namespace vessel::difftest {

Session::Session(std::unique_ptr<Runner> emu, std::vector<std::unique_ptr<Runner>> oracles,
                 FILE* report, uint64_t max_reports)
    : emu_(std::move(emu)),
      oracles_(std::move(oracles)),
      report_(report),
      max_reports_(max_reports) {
  for (const auto& o : oracles_) stats_.push_back(OracleStats{std::string(o->name())});
}

bool Session::check(const TestCase& tc) {
  const Outcome got = emu_->run(tc);
  std::vector<std::string> diffs(oracles_.size());
  for (size_t i = 0; i < oracles_.size(); ++i) {
    const Outcome expected = oracles_[i]->run(tc);
    ++stats_[i].cases;
    if (!expected.ok && got.ok) {  // the oracle cannot run it (Unicorn lacks POPCNT): skip
      ++stats_[i].oracle_failures;
      continue;
    }
    diffs[i] = differences(tc, expected, got);
  }
  const bool hardware_agrees =
      oracles_.size() > 1 && oracles_.back()->name() == "kvm" && diffs.back().empty();
  bool agreed = true;
  for (size_t i = 0; i < oracles_.size(); ++i) {
    if (diffs[i].empty()) continue;
    OracleStats& s = stats_[i];
    if (hardware_agrees) {
      ++s.oracle_bugs;
    } else {
      ++s.divergences;
      agreed = false;
    }
    if (report_ && reported_ < max_reports_) {
      ++reported_;
      fmt::print(report_, "=== divergence: emu vs {}{}\n{}{}\n", s.name,
                 hardware_agrees ? " (kvm agrees with emu: oracle bug)" : "", describe(tc),
                 diffs[i]);
      std::fflush(report_);
    }
  }
  return agreed;
}

}  // namespace vessel::difftest
