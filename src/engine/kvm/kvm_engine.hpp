// The KVM engine: guests run on the host CPU through /dev/kvm.
#pragma once

#include <memory>

#include "base/result.hpp"
#include "engine/engine.hpp"

namespace vessel::engine::kvm {

// Opens /dev/kvm and checks the API version and every capability the engine relies on.
Result<std::unique_ptr<Engine>> create_engine();

}  // namespace vessel::engine::kvm
