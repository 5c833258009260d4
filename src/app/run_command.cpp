#include <fmt/format.h>

#include "app/commands.hpp"
#include "base/log.hpp"
#include "machine/machine.hpp"

namespace vessel::app {

int run_command(config::VmConfig config) {
  for (;;) {
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
    if (!(*machine)->reset_requested() || !config.machine.restart_on_reset) return *status;
    // A fresh machine is a full platform reset: RAM, devices and vCPUs; disks keep their data.
    log::warn("guest rebooted: restarting the VM");
  }
}

}  // namespace vessel::app
