#include "engine/emu/emu_engine.hpp"

#include "engine/emu/emu_vcpu.hpp"

namespace vessel::engine::emu {

namespace {
class EmuEngine final : public Engine {
 public:
  std::string_view name() const override { return "emu"; }
  Result<std::unique_ptr<Vm>> create_vm(const memory::GuestMemory& memory,
                                        const VmOptions& options) override {
    if (options.builtin_irqchip)
      return fail("the emu engine has no built-in interrupt controller; the machine provides one");
    return std::unique_ptr<Vm>(std::make_unique<EmuVm>(memory, options));
  }
};
}  // namespace

bool available() {
  return true;
}

Result<std::unique_ptr<Engine>> create_engine() {
  return std::unique_ptr<Engine>(std::make_unique<EmuEngine>());
}

}  // namespace vessel::engine::emu
