// The `--net` option of `vessel run`, one network interface (net0, net1, ...) per occurrence,
// in QEMU's and cloud-hypervisor's style:
//   --net user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]...[,mac=aa:bb:cc:dd:ee:ff]
//   --net tap=NAME[,mac=aa:bb:cc:dd:ee:ff]
// `user` is libslirp's user-mode network (no privileges); hostfwd may repeat, takes tcp or
// udp, and binds on the host's loopback only (an explicit host address must be 127.0.0.1).
#pragma once

#include <string>

#include "base/result.hpp"
#include "config/devices.hpp"

namespace vessel::app {

Result<config::NetworkInterface> parse_net_option(const std::string& text, unsigned index);

}  // namespace vessel::app
