// The software engine: an x86-64 CPU emulated in software (no VT-x/AMD-V needed).
#pragma once

#include <memory>

#include "base/result.hpp"
#include "engine/engine.hpp"

namespace vessel::engine::emu {

bool available();
Result<std::unique_ptr<Engine>> create_engine();

}  // namespace vessel::engine::emu
