#include "vmm/controller.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "base/version.hpp"
#include "config/resource_rules.hpp"
#include "vmm/logger_output.hpp"

namespace vessel::vmm {

Result<std::unique_ptr<Controller>> Controller::create(config::VmConfig initial,
                                                       MachineFactory& factory,
                                                       ControllerOptions options) {
  UniqueFd ended(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!ended.valid()) return fail("eventfd: {}", std::strerror(errno));
  if (initial.logger) VESSEL_TRY_VOID(apply_logger(*initial.logger));
  auto metrics = initial.metrics;
  std::unique_ptr<Controller> c(
      new Controller(std::move(initial), factory, std::move(options), std::move(ended)));
  if (metrics) VESSEL_TRY_VOID(c->set_metrics(*metrics));
  return c;
}

Controller::Controller(config::VmConfig initial, MachineFactory& factory, ControllerOptions options,
                       UniqueFd ended_event)
    : factory_(factory),
      options_(std::move(options)),
      config_(std::move(initial)),
      ended_event_(std::move(ended_event)) {}

Controller::~Controller() {
  {
    std::lock_guard lock(mutex_);
    shutting_down_ = true;
    if (machine_ && !exit_status()) machine_->stop(0, "the VMM is shutting down");
  }
  metrics_cv_.notify_all();
  if (metrics_thread_.joinable()) metrics_thread_.join();
  if (machine_thread_.joinable()) machine_thread_.join();
  // A last line so that the final interval is not lost (Firecracker flushes at exit too).
  if (metrics_.is_open()) (void)metrics_.flush(machine_metrics());
}

std::optional<int> Controller::exit_status() const {
  std::lock_guard lock(exit_mutex_);
  return exit_status_;
}

InstanceState Controller::state() const {
  std::lock_guard lock(mutex_);
  if (!machine_) return InstanceState::kNotStarted;
  return paused_ ? InstanceState::kPaused : InstanceState::kRunning;
}

void Controller::stop(int status, const std::string& reason) {
  std::lock_guard lock(mutex_);
  if (machine_) {
    machine_->stop(status, reason);
    return;
  }
  {
    std::lock_guard exit_lock(exit_mutex_);
    if (!exit_status_) exit_status_ = status;
  }
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(ended_event_.get(), &one, sizeof one);
}

ActionResult Controller::handle(VmmAction action) {
  std::unique_lock lock(mutex_);
  auto result = apply(action);
  metrics_.count(action, result.has_value());
  if (!result) log::info("action failed: {}", result.error().message);
  return result;
}

ActionResult Controller::apply(VmmAction& action) {
  // Questions and FlushMetrics are answered in every phase.
  if (std::holds_alternative<GetInstanceInfo>(action))
    return InstanceInfo{options_.instance_id,
                        !machine_ ? InstanceState::kNotStarted
                        : paused_ ? InstanceState::kPaused
                                  : InstanceState::kRunning,
                        kVersion, "vessel"};
  if (std::holds_alternative<GetMachineConfig>(action)) return config_.machine;
  if (std::holds_alternative<GetFullConfig>(action)) return config_;
  if (std::holds_alternative<GetVersion>(action)) return VersionInfo{kVersion};
  if (std::holds_alternative<FlushMetrics>(action)) {
    VESSEL_TRY_VOID(metrics_.flush(machine_metrics()));
    return std::monostate{};
  }
  return machine_ ? post_boot(action) : pre_boot(action);
}

ActionResult Controller::pre_boot(VmmAction& action) {
  using config::VmConfig;
  auto configured = [this] { boot_resources_configured_ = true; };
  if (auto* a = std::get_if<PutBootSource>(&action)) {
    config_.boot = std::move(a->boot);
    configured();
  } else if (auto* a = std::get_if<PutDrive>(&action)) {
    VESSEL_TRY_VOID(config::upsert_drive(config_, std::move(a->drive)));
    configured();
  } else if (auto* a = std::get_if<PutNetworkInterface>(&action)) {
    VESSEL_TRY_VOID(config::upsert_network_interface(config_, std::move(a->iface)));
    configured();
  } else if (auto* a = std::get_if<PutMachineConfig>(&action)) {
    VESSEL_TRY_VOID(config::validate_machine(a->machine));
    config_.machine = a->machine;
    configured();
  } else if (auto* a = std::get_if<PatchMachineConfig>(&action)) {
    auto m = config::apply_patch(config_.machine, a->patch);
    VESSEL_TRY_VOID(config::validate_machine(m));
    config_.machine = m;
    configured();
  } else if (auto* a = std::get_if<PutEntropy>(&action)) {
    config_.entropy = std::move(a->entropy);
    configured();
  } else if (auto* a = std::get_if<PutLogger>(&action)) {
    VESSEL_TRY_VOID(apply_logger(a->logger));
    config_.logger = std::move(a->logger);
  } else if (auto* a = std::get_if<PutMetrics>(&action)) {
    // Firecracker initialises metrics once.
    if (metrics_.is_open()) return fail("Reinitialization of metrics not allowed.");
    VESSEL_TRY_VOID(set_metrics(a->metrics));
  } else if (std::holds_alternative<StartInstance>(action)) {
    VESSEL_TRY_VOID(start_instance());
  } else if (auto* a = std::get_if<LoadSnapshot>(&action)) {
    VESSEL_TRY_VOID(load_snapshot(a->params));
  } else {
    // PATCH drive/interface, Pause/Resume, snapshot create, Ctrl-Alt-Del.
    return fail("{}", kNotBeforeStart);
  }
  return std::monostate{};
}

ActionResult Controller::post_boot(VmmAction& action) {
  if (exit_status()) return fail("The microVM has stopped.");
  if (auto* a = std::get_if<PatchDrive>(&action)) {
    // Firecracker swaps the backing file of a running drive; vessel has no block device
    // yet, so the description is updated and the device picks it up when it exists.
    VESSEL_TRY_VOID(config::patch_drive(config_, a->patch));
  } else if (auto* a = std::get_if<PatchNetworkInterface>(&action)) {
    VESSEL_TRY_VOID(config::patch_network_interface(config_, a->patch));
  } else if (std::holds_alternative<PauseVm>(action)) {
    VESSEL_TRY_VOID(machine_->pause());
    paused_ = true;
  } else if (std::holds_alternative<ResumeVm>(action)) {
    VESSEL_TRY_VOID(machine_->resume());
    paused_ = false;
  } else if (auto* a = std::get_if<CreateSnapshot>(&action)) {
    if (!paused_) return fail("Create snapshot error: the microVM must be paused first.");
    if (a->params.type == config::SnapshotType::kDiff && !config_.machine.track_dirty_pages)
      return fail(
          "Create snapshot error: diff snapshots need track_dirty_pages in machine-config.");
    VESSEL_TRY_VOID(machine_->snapshot_create(a->params));
  } else if (std::holds_alternative<SendCtrlAltDel>(action)) {
    VESSEL_TRY_VOID(machine_->send_ctrl_alt_del());
  } else {
    // Configuration, InstanceStart again, snapshot load, logger, metrics.
    return fail("{}", kNotAfterStart);
  }
  return std::monostate{};
}

Result<void> Controller::start_instance() {
  if (config_.boot.kernel.empty())
    return fail("Cannot start microvm without kernel configuration.");
  auto machine = factory_.boot(config_);
  if (!machine) return fail("Failed to start microVM: {}", machine.error().message);
  launch(std::move(*machine));
  return {};
}

Result<void> Controller::load_snapshot(const config::SnapshotLoadParams& params) {
  if (boot_resources_configured_)
    return fail(
        "Loading a microVM snapshot not allowed after configuring boot-specific resources.");
  auto machine = factory_.restore(params, config_);
  if (!machine) return fail("Load snapshot error: {}", machine.error().message);
  auto* m = machine->get();
  paused_ = true;
  if (params.resume_vm) {
    VESSEL_TRY_VOID(m->resume());
    paused_ = false;
  }
  launch(std::move(*machine));
  return {};
}

void Controller::launch(std::unique_ptr<MachineControl> machine) {
  machine_ = std::move(machine);
  MachineControl* m = machine_.get();
  machine_thread_ = std::thread([this, m] {
    auto status = m->run();
    if (!status) log::error("{}", status.error().message);
    {
      std::lock_guard lock(exit_mutex_);
      exit_status_ = status ? *status : 1;
    }
    const uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(ended_event_.get(), &one, sizeof one);
  });
}

Result<void> Controller::set_metrics(const config::MetricsConfig& metrics) {
  VESSEL_TRY_VOID(metrics_.open(metrics.metrics_path));
  config_.metrics = metrics;
  metrics_thread_ = std::thread([this] { metrics_loop(); });
  return {};
}

void Controller::metrics_loop() {
  std::unique_lock lock(mutex_);
  while (!shutting_down_) {
    if (metrics_cv_.wait_for(lock, options_.metrics_period, [this] { return shutting_down_; }))
      break;
    if (auto ok = metrics_.flush(machine_metrics()); !ok)
      log::warn("metrics: {}", ok.error().message);
  }
}

MachineMetrics Controller::machine_metrics() const {
  return machine_ ? machine_->metrics() : MachineMetrics{};
}

}  // namespace vessel::vmm
