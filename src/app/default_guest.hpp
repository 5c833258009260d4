// Where the default guest lives: the kernel and initramfs that scripts/build-guest.sh builds
// from Debian packages into the user's cache folder. `vessel run` without --kernel boots it.
#pragma once

#include <string>

#include "base/result.hpp"
#include "config/vm_config.hpp"

namespace vessel::app {

std::string default_guest_dir();
// Fills the kernel, initrd and command line of `boot` with the default guest's; the command
// line puts the kernel console on `console` (ttyS0 or hvc0).
Result<void> use_default_guest(config::BootSource& boot, config::ConsoleSpec::Device console =
                                                             config::ConsoleSpec::Device::kSerial);

}  // namespace vessel::app
