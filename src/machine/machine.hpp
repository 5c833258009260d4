// Machine: builds one VM from a VmConfig (guest memory, buses, devices, boot image, engine and
// vCPUs) and runs it until it ends. It is the only module that sees both engines and devices;
// the rest of the VMM talks to it through VmConfig in and an exit status out.
//
// Exit statuses of a finished VM (also the `vessel run` process status):
//   0            the guest powered off, or the user quit (Ctrl-A x)
//   2            the guest died: triple fault, halted with nothing to wake it, or the engine
//                could not go on (a register dump is logged)
//   (v<<1)|1     the guest wrote v to the debug-exit port (test payloads)
//   128+N        stopped by signal N (SIGTERM, SIGHUP, SIGINT)
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "base/timer_queue.hpp"
#include "base/unique_fd.hpp"
#include "bus/bus.hpp"
#include "bus/vm_control.hpp"
#include "config/vm_config.hpp"
#include "engine/engine.hpp"
#include "machine/platform.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::backends {
class Console;
}

namespace vessel::machine {

inline constexpr int kExitGuestDied = 2;

class Machine final : public bus::VmControl {
 public:
  static Result<std::unique_ptr<Machine>> create(const config::VmConfig& config);
  // Builds the machine a snapshot describes (snapshot.cpp), paused: run() then waits for
  // resume(). `console` is the caller's; the rest comes from the snapshot, whose every section
  // is checked before anything is built. `engine` other than kAuto moves the VM to that engine
  // (only machines without the Linux platform: KVM's in-kernel interrupt controllers and the
  // emulated ones hold their state in different forms).
  static Result<std::unique_ptr<Machine>> restore(const std::string& snapshot_path,
                                                  const std::string& mem_path,
                                                  const config::ConsoleSpec& console,
                                                  config::EngineKind engine);
  ~Machine() override;

  // Runs the VM on one thread per vCPU until it ends; returns the exit status.
  // SIGINT, SIGTERM and SIGHUP must be blocked in every thread (see block_stop_signals()).
  Result<int> run();

  // Stops every vCPU at an instruction boundary and freezes the VM's time (the clock the
  // devices and the software CPU's TSC follow, and the device timers), so that the guest sees
  // no jump after resume(); KVM's TSC is put back on resume. Both are no-ops when already
  // in that state. Thread-safe; run() must be running or not yet called.
  Result<void> pause();
  Result<void> resume();
  bool paused() const;
  // Writes the paused VM to `snapshot_path` (state) and `mem_path` (guest RAM).
  Result<void> snapshot(const std::string& snapshot_path, const std::string& mem_path);
  // Ctrl+Alt+Del on the guest's keyboard.
  Result<void> press_ctrl_alt_del();

  // Cumulative figures for the metrics (Firecracker's "vcpu", "uart", "block", "net" groups).
  struct Counters {
    uint64_t pio_reads = 0, pio_writes = 0, mmio_reads = 0, mmio_writes = 0;
    uint64_t vcpu_exits_interrupted = 0;  // kicks (pause, exits)
    uint64_t vcpu_failures = 0;
    uint64_t uart_read_bytes = 0, uart_write_bytes = 0;
    VirtioCounters virtio;  // "block" and "net"
  };
  Counters counters() const;

  void request_exit(int status, std::string reason) override;
  void request_reset(std::string reason) override;

  const std::string& engine_description() const { return engine_why_; }
  // Whether the VM ended because the guest asked for a reset (reboot, i8042 0xfe, triple fault
  // on the way down), so the caller may boot it again.
  bool reset_requested() const { return reset_requested_.load(); }

 private:
  explicit Machine(memory::GuestMemory memory);
  // Engine, VM, platform and vCPUs (create and restore share it).
  Result<void> assemble(const config::VmConfig& config, bool linux_guest);
  Result<void> build_platform(const config::VmConfig& config, bool linux_guest);
  // vCPU threads call these around each run(): enter waits while the VM is paused.
  bool enter_guest();
  void leave_guest();
  void vcpu_thread(unsigned index);
  bool wait_for_startup(unsigned index);
  void start_application_processor(unsigned index, uint8_t vector);
  void report_vcpu_death(unsigned index, const std::string& what);

  memory::GuestMemory memory_;
  // The VM's time line; outlives the timers, the devices and the engine that read it.
  VmClock clock_;
  std::unique_ptr<engine::Engine> engine_;
  std::string engine_why_;
  std::unique_ptr<engine::Vm> vm_;
  // Destroyed in reverse order: vCPUs first, then the buses' references to devices, then the
  // platform's devices, the console the UART writes to, and last the timer thread devices use.
  std::unique_ptr<TimerQueue> timers_;
  std::unique_ptr<backends::Console> console_;
  std::unique_ptr<Platform> platform_;
  bus::Buses buses_;
  std::vector<std::unique_ptr<engine::Vcpu>> vcpus_;
  unsigned running_vcpus_ = 1;
  bool linux_guest_ = false;
  bool builtin_irqchip_ = false;
  // Recorded in snapshots: restore rebuilds the same virtio devices in the same places.
  std::vector<config::Drive> drives_;
  std::vector<config::NetworkInterface> network_interfaces_;
  bool virtio_console_ = false;
  config::VirtioTransport virtio_transport_ = config::VirtioTransport::kPci;

  // Pause: vCPU threads park in enter_guest() while paused_; active_ counts those in run().
  mutable std::mutex pause_mutex_;
  std::condition_variable pause_cv_;
  bool paused_ = false;
  unsigned active_ = 0;
  std::vector<uint64_t> paused_tsc_;  // KVM: the TSCs at pause, written back on resume
  std::atomic<uint64_t> kicked_exits_{0};
  std::atomic<uint64_t> vcpu_failures_{0};

  // Application processors wait for a STARTUP IPI (emulated APICs) before they first run.
  std::mutex startup_mutex_;
  std::condition_variable startup_cv_;
  std::vector<bool> started_;

  // Ending the VM: the first request sets the status and wakes run().
  std::mutex exit_mutex_;
  std::optional<int> exit_status_;
  std::string exit_reason_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> reset_requested_{false};
  UniqueFd exit_event_;  // eventfd that wakes run()'s poll
};

// Blocks the signals that stop the VM, in the calling thread and the threads it creates later;
// run() then takes them through a signalfd. Call first thing in main().
void block_stop_signals();

}  // namespace vessel::machine
