// What the host can give a VM, checked before anything is built so that a request it cannot
// meet fails with one clear line instead of an OOM kill half-way through boot.
#pragma once

#include <cstdint>

#include "base/result.hpp"

namespace vessel::machine {

// Fails when `mem_mib` exceeds the host's physical memory.
Result<void> check_memory_fits_host(uint64_t mem_mib);

}  // namespace vessel::machine
