// One differential-test session: runs cases on the software engine and on the chosen oracles
// and counts and reports the divergences. Shared by the ctest quick sample and the
// vessel-difftest driver.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "runners.hpp"
#include "test_case.hpp"

namespace vessel::difftest {

struct OracleStats {
  std::string name;
  uint64_t cases = 0, divergences = 0, oracle_failures = 0;
  // Divergences from this oracle on cases where the hardware (the KVM oracle, run last)
  // agreed with emu: bugs of this oracle, not of emu; not counted in `divergences`.
  uint64_t oracle_bugs = 0;
};

class Session {
 public:
  // `oracles` run the same cases as `emu` (put KVM last: it is trusted over the others); reports go
  // to `report` (nullptr: count only), at most `max_reports` of them in full.
  Session(std::unique_ptr<Runner> emu, std::vector<std::unique_ptr<Runner>> oracles, FILE* report,
          uint64_t max_reports);
  // Runs one case everywhere; true when every oracle agreed with emu.
  bool check(const TestCase& tc);
  const std::vector<OracleStats>& stats() const { return stats_; }

 private:
  std::unique_ptr<Runner> emu_;
  std::vector<std::unique_ptr<Runner>> oracles_;
  std::vector<OracleStats> stats_;
  FILE* report_;
  uint64_t max_reports_, reported_ = 0;
};

}  // namespace vessel::difftest
