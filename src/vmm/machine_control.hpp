// MachineControl: what the controller needs from a built VM, and MachineFactory: how it gets
// one (booted from a VmConfig, or restored from a snapshot in a fresh process). The machine
// module implements both (see machine_adapter.cpp); tests use a fake. Every method except
// run() is called from the API thread while run() blocks on the controller's machine thread,
// so implementations must be thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/result.hpp"
#include "config/updates.hpp"
#include "config/vm_config.hpp"

namespace vessel::vmm {

// Cumulative counters since the machine was built; the metrics writer turns them into
// Firecracker-style per-interval deltas. Zero where a figure is not measured yet.
struct MachineMetrics {
  uint64_t vcpu_exit_io_in = 0;
  uint64_t vcpu_exit_io_out = 0;
  uint64_t vcpu_exit_mmio_read = 0;
  uint64_t vcpu_exit_mmio_write = 0;
  uint64_t vcpu_failures = 0;
  uint64_t uart_read_count = 0;   // bytes the guest read from the UART
  uint64_t uart_write_count = 0;  // bytes the guest wrote to the UART
  // Firecracker's "block" group, summed over the disks. The vmm does not see devices (it is
  // tested without a machine), so these mirror the devices' plain counters; machine_adapter
  // converts them in one place.
  struct Block {
    uint64_t read_bytes = 0, write_bytes = 0, read_count = 0, write_count = 0, flush_count = 0;
    uint64_t invalid_reqs_count = 0, execute_fails = 0;
  } block;
  // Firecracker's "net" group, summed over the cards (frames counted without virtio's header);
  // rx_dropped: frames the guest took too slowly (waiting list full), rx_too_big: frames
  // larger than the guest's buffer; tx_malformed: TX chains refused.
  struct Net {
    uint64_t rx_bytes = 0, rx_packets = 0, rx_dropped = 0, rx_too_big = 0;
    uint64_t tx_bytes = 0, tx_packets = 0, tx_malformed = 0;
  } net;
};

class MachineControl {
 public:
  virtual ~MachineControl() = default;

  // Runs the VM until it ends; returns its exit status (see machine.hpp for the values).
  virtual Result<int> run() = 0;
  // Ends the VM: run() returns `status` soon after. Safe from any thread, at any time.
  virtual void stop(int status, std::string reason) = 0;

  // Stops every vCPU at an instruction boundary / lets them go on. Pausing a paused VM or
  // resuming a running one is not an error (Firecracker treats both as no-ops).
  virtual Result<void> pause() = 0;
  virtual Result<void> resume() = 0;
  // Only called while paused (the controller checks, as Firecracker does).
  virtual Result<void> snapshot_create(const config::SnapshotCreateParams& params) = 0;
  // i8042 CPU reset request as Firecracker sends it (the guest sees Ctrl-Alt-Del).
  virtual Result<void> send_ctrl_alt_del() = 0;
  virtual MachineMetrics metrics() const = 0;
};

class MachineFactory {
 public:
  virtual ~MachineFactory() = default;
  virtual Result<std::unique_ptr<MachineControl>> boot(const config::VmConfig& config) = 0;
  // Builds a machine from a snapshot; it starts paused unless params.resume_vm (the
  // controller resumes it). `config` holds the logger/metrics-level settings only.
  virtual Result<std::unique_ptr<MachineControl>> restore(const config::SnapshotLoadParams& params,
                                                          const config::VmConfig& config) = 0;
};

}  // namespace vessel::vmm
