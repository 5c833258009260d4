#include "engine/choose.hpp"

#include "engine/emu/emu_engine.hpp"
#include "engine/kvm/kvm_engine.hpp"

namespace vessel::engine {

bool emu_available() {
  return emu::available();
}

Result<EngineChoice> choose_engine(config::EngineKind kind, const HostCapabilities& host) {
  using config::EngineKind;
  if (kind == EngineKind::kAuto) {
    if (host.kvm_usable && !host.kvm_is_pvm) {
      kind = EngineKind::kKvm;
    } else if (emu_available()) {
      kind = EngineKind::kEmu;
    } else if (host.kvm_usable) {
      kind = EngineKind::kKvm;  // PVM: guest ring 0 is emulated by the host, but it runs
    } else {
      return fail("no engine can run here: {}, and this build has no software engine",
                  host.kvm_problem);
    }
  }
  if (kind == EngineKind::kKvm) {
    if (!host.kvm_usable) return fail("the kvm engine cannot run: {}", host.kvm_problem);
    auto engine = VESSEL_TRY(kvm::create_engine());
    return EngineChoice{
        std::move(engine),
        host.kvm_is_pvm ? "kvm (PVM host: guest ring 0 runs emulated, slowly)" : "kvm"};
  }
  auto engine = VESSEL_TRY(emu::create_engine());
  return EngineChoice{std::move(engine), "emu (software x86-64)"};
}

}  // namespace vessel::engine
