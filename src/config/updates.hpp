// Partial updates and one-shot parameters that the API carries but a VmConfig does not hold:
// Firecracker's PartialDrive, PartialNetworkInterface, the PATCH form of MachineConfiguration,
// and the snapshot create/load parameters. Plain data; JSON in resources_json.hpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/vm_config.hpp"

namespace vessel::config {

struct DrivePatch {
  std::string drive_id;
  std::optional<std::string> path_on_host;
  std::optional<std::string> rate_limiter;
};

struct NetworkInterfacePatch {
  std::string iface_id;
  std::optional<std::string> rx_rate_limiter;
  std::optional<std::string> tx_rate_limiter;
};

// machine-config: PUT gives all required fields, PATCH any subset (at least one).
struct MachineConfigPatch {
  std::optional<unsigned> vcpu_count;
  std::optional<uint64_t> mem_size_mib;
  std::optional<bool> smt;
  std::optional<bool> track_dirty_pages;
  std::optional<EngineKind> engine;
};

enum class SnapshotType { kFull, kDiff };

struct SnapshotCreateParams {
  SnapshotType type = SnapshotType::kFull;
  std::string snapshot_path;  // vCPU and device state
  std::string mem_file_path;  // guest memory
};

enum class MemBackendType { kFile, kUffd };

struct SnapshotLoadParams {
  std::string snapshot_path;
  std::string mem_backend_path;  // from mem_backend.backend_path or the older mem_file_path
  MemBackendType mem_backend_type = MemBackendType::kFile;
  bool enable_diff_snapshots = false;
  bool resume_vm = false;
};

// Applies a patch on top of `machine`; the result is validated by validate_machine().
MachineSpec apply_patch(MachineSpec machine, const MachineConfigPatch& patch);
// Firecracker's rules for vcpu_count / mem_size_mib / smt, with its messages where it has one.
Result<void> validate_machine(const MachineSpec& machine);

}  // namespace vessel::config
