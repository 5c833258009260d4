// VmControl: how a device asks the VMM to end or restart the VM (debug-exit port, i8042 reset,
// ACPI power-off) without knowing anything of engines or threads.
#pragma once

#include <string>

namespace vessel::bus {

class VmControl {
 public:
  virtual ~VmControl() = default;
  // Ends the VM; the vessel process exits with `status`. The first request wins.
  virtual void request_exit(int status, std::string reason) = 0;
  // The guest asked for a reset (i8042 0xfe, ACPI reset register, triple fault on reboot).
  virtual void request_reset(std::string reason) = 0;
};

}  // namespace vessel::bus
