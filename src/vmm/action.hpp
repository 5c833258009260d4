// VmmAction: everything a client can ask of the VMM, as one variant value per request. The
// API turns each HTTP request into one of these (src/api, one file per endpoint); the
// controller (controller.hpp) applies them. Neither side knows the other's insides: the API
// knows no machine, the controller knows no HTTP.
//
// ActionResult's error side is Firecracker's VmmActionError: the API answers it with 400 and
// {"fault_message": message}.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "base/result.hpp"
#include "config/updates.hpp"
#include "config/vm_config.hpp"

namespace vessel::vmm {

struct GetInstanceInfo {};
struct GetMachineConfig {};
struct GetFullConfig {};  // GET /vm/config
struct GetVersion {};     // GET /version
struct PutBootSource {
  config::BootSource boot;
};
struct PutDrive {
  config::Drive drive;
};
struct PatchDrive {
  config::DrivePatch patch;
};
struct PutNetworkInterface {
  config::NetworkInterface iface;
};
struct PatchNetworkInterface {
  config::NetworkInterfacePatch patch;
};
struct PutMachineConfig {
  config::MachineSpec machine;
};
struct PatchMachineConfig {
  config::MachineConfigPatch patch;
};
struct StartInstance {};
struct SendCtrlAltDel {};
struct FlushMetrics {};
struct PutLogger {
  config::LoggerConfig logger;
};
struct PutMetrics {
  config::MetricsConfig metrics;
};
struct PauseVm {};
struct ResumeVm {};
struct CreateSnapshot {
  config::SnapshotCreateParams params;
};
struct LoadSnapshot {
  config::SnapshotLoadParams params;
};
struct PutEntropy {
  config::EntropyConfig entropy;
};

using VmmAction =
    std::variant<GetInstanceInfo, GetMachineConfig, GetFullConfig, GetVersion, PutBootSource,
                 PutDrive, PatchDrive, PutNetworkInterface, PatchNetworkInterface, PutMachineConfig,
                 PatchMachineConfig, StartInstance, SendCtrlAltDel, FlushMetrics, PutLogger,
                 PutMetrics, PauseVm, ResumeVm, CreateSnapshot, LoadSnapshot, PutEntropy>;

// Firecracker's InstanceInfo.state strings.
enum class InstanceState { kNotStarted, kRunning, kPaused };
inline std::string_view to_string(InstanceState state) {
  switch (state) {
    case InstanceState::kNotStarted:
      return "Not started";
    case InstanceState::kRunning:
      return "Running";
    case InstanceState::kPaused:
      return "Paused";
  }
  return "?";
}

struct InstanceInfo {
  std::string id;
  InstanceState state = InstanceState::kNotStarted;
  std::string vmm_version;
  std::string app_name;
};

struct VersionInfo {
  std::string version;
};

// What a successful action returns: nothing (HTTP 204) or a document (HTTP 200).
using ActionData =
    std::variant<std::monostate, InstanceInfo, config::MachineSpec, config::VmConfig, VersionInfo>;
using ActionResult = Result<ActionData>;

// The receiving end of actions (the controller; a fake in the API's tests). handle() may be
// called from any thread.
class ActionHandler {
 public:
  virtual ~ActionHandler() = default;
  virtual ActionResult handle(VmmAction action) = 0;
};

}  // namespace vessel::vmm
