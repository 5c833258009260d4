#include "app/api_command.hpp"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>

#include "api/server.hpp"
#include "base/log.hpp"
#include "config/resources_json.hpp"
#include "vmm/controller.hpp"
#include "vmm/machine_adapter.hpp"

namespace vessel::app {
namespace {

Result<UniqueFd> stop_signal_fd() {
  // The same signals machine::block_stop_signals() blocked in main().
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  UniqueFd fd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd.valid()) return fail("signalfd: {}", strerror(errno));
  return fd;
}

// Waits until the VM ends or a stop signal arrives; returns the process status.
int wait_for_end(vmm::Controller& controller, int signal_fd) {
  pollfd fds[2] = {{controller.ended_fd(), POLLIN, 0}, {signal_fd, POLLIN, 0}};
  for (;;) {
    if (auto status = controller.exit_status()) return *status;
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return 1;
    signalfd_siginfo info{};
    if ((fds[1].revents & POLLIN) && ::read(signal_fd, &info, sizeof info) == sizeof info) {
      log::info("stopping: {}", strsignal(static_cast<int>(info.ssi_signo)));
      controller.stop(128 + static_cast<int>(info.ssi_signo), "stopped by a signal");
    }
    if (fds[0].revents & POLLIN) {
      uint64_t n = 0;
      [[maybe_unused]] auto r = ::read(controller.ended_fd(), &n, sizeof n);
    }
  }
}

Result<int> run(config::VmConfig config, const ApiOptions& o) {
  if (o.no_api && o.config_file.empty()) return fail("--no-api needs --config-file");
  if (o.no_api && !o.socket.empty()) return fail("--no-api and --api-sock exclude each other");
  if (!o.config_file.empty())
    config = VESSEL_TRY(config::load_config_file(o.config_file, std::move(config)));
  auto signals = VESSEL_TRY(stop_signal_fd());
  vmm::MachineAdapterFactory factory;
  auto controller = VESSEL_TRY(vmm::Controller::create(std::move(config), factory, {o.id}));
  std::unique_ptr<api::ApiServer> server;  // destroyed before the controller it calls
  if (!o.socket.empty()) server = VESSEL_TRY(api::ApiServer::start(o.socket, *controller));
  if (!o.config_file.empty()) {
    // Firecracker boots at once when given a config file, API or not.
    auto started = controller->handle(vmm::StartInstance{});
    if (!started) return fail("{}", started.error().message);
  }
  const int status = wait_for_end(*controller, signals.get());
  server.reset();
  return status;
}

}  // namespace

void add_api_options(CLI::App& run, ApiOptions& o) {
  run.add_option("--api-sock", o.socket,
                 "Serve Firecracker's REST API on this Unix socket; the VM waits for "
                 "InstanceStart (the path must not exist)");
  run.add_option("--config-file", o.config_file,
                 "Firecracker JSON config file (boot-source, drives, machine-config, ...); "
                 "boots at once")
      ->check(CLI::ExistingFile);
  run.add_flag("--no-api", o.no_api, "With --config-file: no API socket");
  run.add_option("--id", o.id, "Instance id reported by GET /")->capture_default_str();
}

int api_run_command(config::VmConfig config, const ApiOptions& options) {
  auto status = run(std::move(config), options);
  if (!status) {
    log::error("{}", status.error().message);
    return 1;
  }
  return *status;
}

}  // namespace vessel::app
