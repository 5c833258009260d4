#include <fmt/format.h>

#include "app/commands.hpp"
#include "base/log.hpp"
#include "machine/machine.hpp"

namespace vessel::app {

int run_command(config::VmConfig config) {
  auto machine = machine::Machine::create(config);
  if (!machine) {
    log::error("{}", machine.error().message);
    return 1;
  }
  auto status = (*machine)->run();
  if (!status) {
    log::error("{}", status.error().message);
    return 1;
  }
  return *status;
}

}  // namespace vessel::app
