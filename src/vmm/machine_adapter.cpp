#include "vmm/machine_adapter.hpp"

#include "machine/machine.hpp"

namespace vessel::vmm {
namespace {

// Forwards to machine::Machine. Pause, resume, snapshots and Ctrl-Alt-Del answer "not yet"
// until the machine grows them (issue 8); each is one forwarding line then.
class MachineAdapter final : public MachineControl {
 public:
  explicit MachineAdapter(std::unique_ptr<machine::Machine> m) : machine_(std::move(m)) {}

  Result<int> run() override { return machine_->run(); }
  void stop(int status, std::string reason) override {
    machine_->request_exit(status, std::move(reason));
  }
  Result<void> pause() override { return fail("pausing is not supported by vessel yet"); }
  Result<void> resume() override { return fail("resuming is not supported by vessel yet"); }
  Result<void> snapshot_create(const config::SnapshotCreateParams&) override {
    return fail("snapshots are not supported by vessel yet");
  }
  Result<void> send_ctrl_alt_del() override {
    return fail("SendCtrlAltDel is not supported by vessel yet");
  }
  MachineMetrics metrics() const override { return {}; }

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
    const config::SnapshotLoadParams&, const config::VmConfig&) {
  return fail("snapshots are not supported by vessel yet");
}

}  // namespace vessel::vmm
