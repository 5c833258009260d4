// The `vessel` subcommands. Each returns the process exit status.
#pragma once

#include "config/vm_config.hpp"

namespace vessel::app {

int run_command(config::VmConfig config);
int info_command();

}  // namespace vessel::app
