// Picks the engine for a VM: the one asked for, or with `auto` the KVM engine where KVM runs
// guest kernels natively and the software engine elsewhere (no KVM, or PVM-flavoured KVM whose
// emulated ring 0 is slower than our own).
#pragma once

#include <memory>
#include <string>

#include "base/result.hpp"
#include "config/vm_config.hpp"
#include "engine/engine.hpp"
#include "engine/host_probe.hpp"

namespace vessel::engine {

struct EngineChoice {
  std::unique_ptr<Engine> engine;
  std::string why;  // one line for logs and `vessel info`
};

Result<EngineChoice> choose_engine(config::EngineKind kind, const HostCapabilities& host);

// Whether this build has the software engine.
bool emu_available();

}  // namespace vessel::engine
