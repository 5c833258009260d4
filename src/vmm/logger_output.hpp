// Applies Firecracker's logger settings to vessel's log (base/log.hpp): the level, and the
// destination. The destination is taken by pointing the process's stderr at the file or FIFO,
// which is where base/log writes; Firecracker's logger likewise owns all VMM diagnostics.
#pragma once

#include "base/log.hpp"
#include "base/result.hpp"
#include "config/devices.hpp"

namespace vessel::vmm {

// Firecracker's level names to base/log's: Off and Error → error only, Trace → debug.
log::Level to_log_level(const std::string& level);
Result<void> apply_logger(const config::LoggerConfig& logger);

}  // namespace vessel::vmm
