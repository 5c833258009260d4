#include "vmm/metrics.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>

#include <nlohmann/json.hpp>

namespace vessel::vmm {
namespace {

struct Key {
  const char* group;
  const char* name;
};

// One entry per VmmAction alternative, in variant order.
constexpr std::array<Key, std::variant_size_v<VmmAction>> kKeys = {{
    {"get_api_requests", "instance_info"},    // GetInstanceInfo
    {"get_api_requests", "machine_cfg"},      // GetMachineConfig
    {"get_api_requests", "vm_config"},        // GetFullConfig
    {"get_api_requests", "vmm_version"},      // GetVersion
    {"put_api_requests", "boot_source"},      // PutBootSource
    {"put_api_requests", "drive"},            // PutDrive
    {"patch_api_requests", "drive"},          // PatchDrive
    {"put_api_requests", "network"},          // PutNetworkInterface
    {"patch_api_requests", "network"},        // PatchNetworkInterface
    {"put_api_requests", "machine_cfg"},      // PutMachineConfig
    {"patch_api_requests", "machine_cfg"},    // PatchMachineConfig
    {"put_api_requests", "actions"},          // StartInstance
    {"put_api_requests", "actions"},          // SendCtrlAltDel
    {"put_api_requests", "actions"},          // FlushMetrics
    {"put_api_requests", "logger"},           // PutLogger
    {"put_api_requests", "metrics"},          // PutMetrics
    {"patch_api_requests", "vmm"},            // PauseVm
    {"patch_api_requests", "vmm"},            // ResumeVm
    {"put_api_requests", "snapshot_create"},  // CreateSnapshot
    {"put_api_requests", "snapshot_load"},    // LoadSnapshot
    {"put_api_requests", "entropy"},          // PutEntropy
}};

uint64_t now_utc_ms() {
  using namespace std::chrono;
  return static_cast<uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace

void Metrics::count(const VmmAction& action, bool ok) {
  const Key& k = kKeys[action.index()];
  auto& group = totals_[k.group];
  ++group[std::string(k.name) + "_count"];
  // GET requests have no failure counter in Firecracker's layout except instance_info.
  if (!ok) ++group[std::string(k.name) + "_fails"];
}

uint64_t Metrics::total(const std::string& group, const std::string& name) const {
  auto g = totals_.find(group);
  if (g == totals_.end()) return 0;
  auto n = g->second.find(name);
  return n == g->second.end() ? 0 : n->second;
}

Result<void> Metrics::open(const std::string& path) {
  // O_RDWR so that opening a FIFO without a reader yet does not fail (ENXIO) or block.
  int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot open metrics file {}: {}", path, std::strerror(errno));
  fd_.reset(fd);
  return {};
}

std::string Metrics::next_line(const MachineMetrics& m, uint64_t utc_ms) {
  Counters current = totals_;
  current["vcpu"] = {{"exit_io_in", m.vcpu_exit_io_in},
                     {"exit_io_out", m.vcpu_exit_io_out},
                     {"exit_mmio_read", m.vcpu_exit_mmio_read},
                     {"exit_mmio_write", m.vcpu_exit_mmio_write},
                     {"failures", m.vcpu_failures}};
  current["uart"] = {{"read_count", m.uart_read_count}, {"write_count", m.uart_write_count}};
  current["block"] = {
      {"read_bytes", m.block.read_bytes},      {"write_bytes", m.block.write_bytes},
      {"read_count", m.block.read_count},      {"write_count", m.block.write_count},
      {"flush_count", m.block.flush_count},    {"invalid_reqs_count", m.block.invalid_reqs_count},
      {"execute_fails", m.block.execute_fails}};
  current["net"] = {
      {"rx_bytes_count", m.net.rx_bytes},         {"rx_packets_count", m.net.rx_packets},
      {"rx_dropped", m.net.rx_dropped},           {"rx_too_big", m.net.rx_too_big},
      {"tx_bytes_count", m.net.tx_bytes},         {"tx_packets_count", m.net.tx_packets},
      {"tx_malformed_frames", m.net.tx_malformed}};
  nlohmann::json line = {{"utc_timestamp_ms", utc_ms}};
  for (const auto& [group, values] : current)
    for (const auto& [name, value] : values) {
      const uint64_t before = reported_[group][name];
      // A machine restored or rebuilt restarts its counters: report from zero then.
      line[group][name] = value >= before ? value - before : value;
    }
  reported_ = std::move(current);
  return line.dump() + "\n";
}

Result<void> Metrics::flush(const MachineMetrics& machine) {
  if (!fd_.valid()) return fail("The metrics system is not initialized.");
  const std::string line = next_line(machine, now_utc_ms());
  ssize_t n = ::write(fd_.get(), line.data(), line.size());
  if (n < 0 && errno != EAGAIN) return fail("cannot write metrics: {}", std::strerror(errno));
  return {};
}

}  // namespace vessel::vmm
