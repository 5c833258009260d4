// The `--disk path=FILE[,readonly=on][,io=uring|sync]` option of `vessel run`: one Drive per
// occurrence, named drive0, drive1, ... in order. io=uring (the default) uses io_uring where
// the host allows it and synchronous I/O otherwise; io=sync always the latter. The file must
// exist and be readable (and writable unless read-only) now, so a typo fails before the guest
// boots rather than as a missing disk inside it.
#pragma once

#include <string>

#include "base/result.hpp"
#include "config/devices.hpp"

namespace vessel::app {

Result<config::Drive> parse_disk_option(const std::string& text, unsigned index);

}  // namespace vessel::app
