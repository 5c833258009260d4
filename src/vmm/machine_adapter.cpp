#include "vmm/machine_adapter.hpp"

#include "machine/machine.hpp"

namespace vessel::vmm {
namespace {

// Forwards to machine::Machine.
class MachineAdapter final : public MachineControl {
 public:
  explicit MachineAdapter(std::unique_ptr<machine::Machine> m) : machine_(std::move(m)) {}

  Result<int> run() override { return machine_->run(); }
  void stop(int status, std::string reason) override {
    machine_->request_exit(status, std::move(reason));
  }
  Result<void> pause() override { return machine_->pause(); }
  Result<void> resume() override { return machine_->resume(); }
  Result<void> snapshot_create(const config::SnapshotCreateParams& params) override {
    if (params.type != config::SnapshotType::kFull)
      return fail("only Full snapshots are supported");
    return machine_->snapshot(params.snapshot_path, params.mem_file_path);
  }
  Result<void> send_ctrl_alt_del() override { return machine_->press_ctrl_alt_del(); }
  MachineMetrics metrics() const override {
    const auto c = machine_->counters();
    MachineMetrics m;
    m.vcpu_exit_io_in = c.pio_reads;
    m.vcpu_exit_io_out = c.pio_writes;
    m.vcpu_exit_mmio_read = c.mmio_reads;
    m.vcpu_exit_mmio_write = c.mmio_writes;
    m.vcpu_failures = c.vcpu_failures;
    m.uart_read_count = c.uart_read_bytes;
    m.uart_write_count = c.uart_write_bytes;
    const auto& b = c.virtio.block;
    m.block = {b.read_bytes,  b.write_bytes,        b.read_count,   b.write_count,
               b.flush_count, b.invalid_reqs_count, b.execute_fails};
    const auto& n = c.virtio.net;
    m.net = {n.rx_bytes, n.rx_frames, n.rx_dropped, n.rx_too_big,
             n.tx_bytes, n.tx_frames, n.tx_dropped};
    return m;
  }

 private:
  std::unique_ptr<machine::Machine> machine_;
};

}  // namespace

Result<std::unique_ptr<MachineControl>> MachineAdapterFactory::boot(
    const config::VmConfig& config) {
  auto m = VESSEL_TRY(machine::Machine::create(config));
  return std::unique_ptr<MachineControl>(std::make_unique<MachineAdapter>(std::move(m)));
}

Result<std::unique_ptr<MachineControl>> MachineAdapterFactory::restore(
    const config::SnapshotLoadParams& params, const config::VmConfig& config) {
  if (params.mem_backend_type != config::MemBackendType::kFile)
    return fail("only the File memory backend is supported");
  if (params.enable_diff_snapshots) return fail("diff snapshots are not supported");
  auto m = VESSEL_TRY(machine::Machine::restore(params.snapshot_path, params.mem_backend_path,
                                                config.console, config.machine.engine));
  return std::unique_ptr<MachineControl>(std::make_unique<MachineAdapter>(std::move(m)));
}

}  // namespace vessel::vmm
