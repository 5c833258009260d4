// Metrics: the VMM's counters and their output as JSON lines, in Firecracker's layout where
// the same figure exists (get_api_requests, put_api_requests, patch_api_requests, vcpu, uart,
// block, net; see Firecracker's docs/metrics.md; block and net are summed over the devices). Like
// Firecracker's SharedIncMetric, each line carries the increase since the previous line, and
// `utc_timestamp_ms` says when it was written. Not thread-safe by itself: the controller serialises
// access.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "base/result.hpp"
#include "base/unique_fd.hpp"
#include "vmm/action.hpp"
#include "vmm/machine_control.hpp"

namespace vessel::vmm {

class Metrics {
 public:
  // Counts one handled action (FC's "<name>_count", and "<name>_fails" when it failed).
  void count(const VmmAction& action, bool ok);

  // Opens the metrics file or FIFO (Firecracker opens it non-blocking; a full FIFO drops
  // lines rather than stalling the VMM).
  Result<void> open(const std::string& path);
  bool is_open() const { return fd_.valid(); }

  // Builds one line of deltas since the previous call (exposed for tests)...
  std::string next_line(const MachineMetrics& machine, uint64_t utc_ms);
  // ...and writes it to the opened output.
  Result<void> flush(const MachineMetrics& machine);

  uint64_t total(const std::string& group, const std::string& name) const;

 private:
  using Counters = std::map<std::string, std::map<std::string, uint64_t>>;
  Counters totals_;
  Counters reported_;
  UniqueFd fd_;
};

}  // namespace vessel::vmm
