// Controller: the VMM's state between the API and the machine. Before InstanceStart it holds
// the VmConfig being built and applies configuration actions to it with Firecracker's rules;
// InstanceStart (or LoadSnapshot) builds the machine and runs it on a thread of its own;
// afterwards it forwards pause/resume/snapshot/Ctrl-Alt-Del to MachineControl. It also owns
// the metrics (periodic flush, FlushMetrics) and applies the logger settings.
//
// It knows no HTTP (src/api turns requests into VmmActions) and no engine or device
// (MachineFactory/MachineControl hide the machine).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/unique_fd.hpp"
#include "vmm/action.hpp"
#include "vmm/machine_control.hpp"
#include "vmm/metrics.hpp"

namespace vessel::vmm {

struct ControllerOptions {
  std::string instance_id = "anonymous-instance";   // Firecracker's default --id
  std::chrono::milliseconds metrics_period{60000};  // Firecracker flushes every 60 s
};

// Firecracker's messages for calls made in the wrong phase.
inline constexpr const char* kNotAfterStart =
    "The requested operation is not supported after starting the microVM.";
inline constexpr const char* kNotBeforeStart =
    "The requested operation is not supported before starting the microVM.";

class Controller final : public ActionHandler {
 public:
  // Applies the logger and metrics settings `initial` carries (from --config-file).
  static Result<std::unique_ptr<Controller>> create(config::VmConfig initial,
                                                    MachineFactory& factory,
                                                    ControllerOptions options = {});
  ~Controller() override;

  ActionResult handle(VmmAction action) override;

  // Ends a running machine (stop signals); before boot it only records the status.
  void stop(int status, const std::string& reason);
  // Readable (eventfd) once the VM has ended; exit_status() then has its status.
  int ended_fd() const { return ended_event_.get(); }
  std::optional<int> exit_status() const;
  InstanceState state() const;

 private:
  Controller(config::VmConfig initial, MachineFactory& factory, ControllerOptions options,
             UniqueFd ended_event);

  ActionResult apply(VmmAction& action);
  ActionResult pre_boot(VmmAction& action);
  ActionResult post_boot(VmmAction& action);
  Result<void> start_instance();
  Result<void> load_snapshot(const config::SnapshotLoadParams& params);
  Result<void> set_metrics(const config::MetricsConfig& metrics);
  void launch(std::unique_ptr<MachineControl> machine);
  void metrics_loop();
  MachineMetrics machine_metrics() const;

  MachineFactory& factory_;
  const ControllerOptions options_;
  config::VmConfig config_;
  bool boot_resources_configured_ = false;

  mutable std::mutex mutex_;  // serialises actions; guards everything below
  std::unique_ptr<MachineControl> machine_;
  bool paused_ = false;
  Metrics metrics_;
  bool shutting_down_ = false;
  std::condition_variable metrics_cv_;
  std::thread metrics_thread_;

  std::thread machine_thread_;
  mutable std::mutex exit_mutex_;
  std::optional<int> exit_status_;
  UniqueFd ended_event_;
};

}  // namespace vessel::vmm
