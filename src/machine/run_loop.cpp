// The run loop: one thread per vCPU running the engine, and the calling thread waiting for the
// VM to end (a device's request, a vCPU's death, or a stop signal).
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "arch/x86/cpu_state.hpp"
#include "backends/console.hpp"
#include "base/log.hpp"
#include "machine/machine.hpp"

namespace vessel::machine {
namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) sigaddset(&set, s);
  return set;
}

}  // namespace

void block_stop_signals() {
  sigset_t set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void Machine::report_vcpu_death(unsigned index, const std::string& what) {
  std::string dump;
  if (auto state = vcpus_[index]->state()) dump = "\n" + arch::format_registers(*state);
  log::error("vCPU {}: {}{}", index, what, dump);
  vcpu_failures_.fetch_add(1, std::memory_order_relaxed);
  request_exit(kExitGuestDied, fmt::format("vCPU {}: {}", index, what));
}

bool Machine::wait_for_startup(unsigned index) {
  std::unique_lock lock(startup_mutex_);
  startup_cv_.wait(lock, [&] { return started_[index] || stopping_.load(); });
  return started_[index] && !stopping_.load();
}

void Machine::start_application_processor(unsigned index, uint8_t vector) {
  std::lock_guard lock(startup_mutex_);
  if (index >= started_.size() || started_[index]) return;
  // SDM Vol. 3A §8.4.4.1 (MP initialization): the AP starts in real mode at vector * 4 KiB.
  arch::CpuState s = arch::real_mode_state(0, 0);
  // INIT/SIPI do not reset the time-stamp counter: keep the one that has run since power-on,
  // or the AP's TSC would lag the BSP's by the boot time so far (Linux then distrusts TSC).
  if (auto current = vcpus_[index]->state()) s.tsc = current->tsc;
  s.seg[arch::kCs].selector = static_cast<uint16_t>(vector << 8);
  s.seg[arch::kCs].base = uint64_t{vector} << 12;
  if (auto ok = vcpus_[index]->set_state(s); !ok) {
    log::error("vCPU {}: cannot start: {}", index, ok.error().message);
    return;
  }
  started_[index] = true;
  startup_cv_.notify_all();
}

void Machine::vcpu_thread(unsigned index) {
  engine::Vcpu& vcpu = *vcpus_[index];
  platform_->on_vcpu_thread(index);
  if (!wait_for_startup(index)) return;
  while (enter_guest()) {
    auto exit = vcpu.run();
    leave_guest();
    if (!exit) {
      report_vcpu_death(index, exit.error().message);
      return;
    }
    switch (exit->kind) {
      case engine::ExitKind::kInterrupted:
        kicked_exits_.fetch_add(1, std::memory_order_relaxed);
        continue;  // the loop condition decides
      case engine::ExitKind::kHalt:
        report_vcpu_death(index, "halted with nothing that could wake it");
        return;
      case engine::ExitKind::kShutdown:
        report_vcpu_death(index, fmt::format("shut down ({})", exit->detail));
        return;
      case engine::ExitKind::kReset:
        request_reset(exit->detail);
        return;
      case engine::ExitKind::kError:
        report_vcpu_death(index, exit->detail);
        return;
    }
  }
}

Result<int> Machine::run() {
  sigset_t signals = stop_signals();
  UniqueFd signal_fd(::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd.valid()) return fail("signalfd: {}", std::strerror(errno));

  Platform* platform = platform_.get();
  console_->start_input(
      [platform](std::span<const uint8_t> bytes) { return platform->console_input(bytes); },
      [this] { request_exit(0, "quit from the console (Ctrl-A x)"); });

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < running_vcpus_; ++i) threads.emplace_back([this, i] { vcpu_thread(i); });

  pollfd fds[2] = {{exit_event_.get(), POLLIN, 0}, {signal_fd.get(), POLLIN, 0}};
  while (!stopping_.load()) {
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) break;
    signalfd_siginfo info{};
    if ((fds[1].revents & POLLIN) && ::read(signal_fd.get(), &info, sizeof info) == sizeof info)
      request_exit(128 + static_cast<int>(info.ssi_signo),
                   fmt::format("stopped by signal {}", strsignal(info.ssi_signo)));
  }

  {
    std::lock_guard lock(startup_mutex_);
    stopping_.store(true);
    startup_cv_.notify_all();
  }
  {
    std::lock_guard lock(pause_mutex_);  // parked vCPUs and a pause() waiting for them
    pause_cv_.notify_all();
  }
  // A VM that ends while paused must not leave the time line or the timers stopped.
  clock_.resume();
  if (timers_) timers_->resume();
  for (auto& vcpu : vcpus_) vcpu->kick();
  for (auto& t : threads) t.join();
  console_->stop();
  if (log::level() >= log::Level::kDebug) {
    for (unsigned i = 0; i < vcpus_.size(); ++i)
      if (auto state = vcpus_[i]->state())
        log::debug("vCPU {} at exit:\n{}", i, arch::format_registers(*state));
  }

  std::lock_guard lock(exit_mutex_);
  log::info("{}", exit_reason_);
  return exit_status_.value_or(1);
}

}  // namespace vessel::machine
