// This machine's CPU as a runner: one KVM VM and vCPU for every case. The sequence runs in
// guest ring 3 (native speed even under PVM); its terminating OUT, or the ring-0 stub of an
// exception, is answered by the IoHandler, which kicks the vCPU so run() returns at once.
#include <optional>

#include "engine/host_probe.hpp"
#include "engine/kvm/kvm_engine.hpp"
#include "guest_layout.hpp"
#include "runners.hpp"

namespace vessel::difftest {
namespace {

class KickOnPort final : public bus::IoHandler {
 public:
  engine::Vcpu* vcpu = nullptr;
  std::optional<uint8_t> port;
  void pio_read(uint16_t, std::span<uint8_t> d) override {
    for (auto& b : d) b = 0xff;
  }
  void pio_write(uint16_t p, std::span<const uint8_t>) override {
    if (!port) port = static_cast<uint8_t>(p);
    vcpu->kick();
  }
  void mmio_read(uint64_t, std::span<uint8_t> d) override {
    for (auto& b : d) b = 0xff;
  }
  void mmio_write(uint64_t, std::span<const uint8_t>) override {}
};

class KvmRunner final : public Runner {
 public:
  std::string_view name() const override { return "kvm"; }

  Outcome run(const TestCase& tc) override {
    Outcome bad;
    if (auto r = load_case(*mem_, tc); !r) {
      bad.error = r.error().message;
      return bad;
    }
    if (auto r = vcpu_->set_state(initial_state(tc)); !r) {
      bad.error = r.error().message;
      return bad;
    }
    io_.port.reset();
    auto exit = vcpu_->run();
    if (!exit) {
      bad.error = exit.error().message;
      return bad;
    }
    if (!io_.port || exit->kind != engine::ExitKind::kInterrupted) {
      bad.error = "kvm: the case ended without reporting (" + exit->detail + ")";
      return bad;
    }
    auto st = vcpu_->state();
    if (!st) {
      bad.error = st.error().message;
      return bad;
    }
    return outcome_at_port(*mem_, *st, *io_.port, done_rip(tc));
  }

  std::unique_ptr<engine::Engine> engine_;
  std::optional<memory::GuestMemory> mem_;
  std::unique_ptr<engine::Vm> vm_;
  std::unique_ptr<engine::Vcpu> vcpu_;
  KickOnPort io_;
};

}  // namespace

Result<std::unique_ptr<Runner>> make_kvm_runner() {
  const auto host = engine::probe_host();
  if (!host.kvm_usable) return fail("KVM is not usable here: {}", host.kvm_problem);
  auto r = std::make_unique<KvmRunner>();
  r->engine_ = VESSEL_TRY(engine::kvm::create_engine());
  r->mem_.emplace(VESSEL_TRY(memory::GuestMemory::create(kGuestRam)));
  VESSEL_TRY_VOID(install_layout(*r->mem_));
  r->vm_ = VESSEL_TRY(r->engine_->create_vm(*r->mem_, engine::VmOptions{}));
  r->vcpu_ = VESSEL_TRY(r->vm_->create_vcpu(0, r->io_));
  r->io_.vcpu = r->vcpu_.get();
  return std::unique_ptr<Runner>(std::move(r));
}

}  // namespace vessel::difftest
