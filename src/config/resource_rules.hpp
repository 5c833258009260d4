// The rules that tie resources of one VM together, shared by the config file and the API:
// a PUT with a known id replaces that resource, there is at most one root drive, and two
// interfaces may not share a tap device or a guest MAC (Firecracker's rules and messages).
#pragma once

#include "config/updates.hpp"
#include "config/vm_config.hpp"

namespace vessel::config {

Result<void> upsert_drive(VmConfig& config, Drive drive);
Result<void> patch_drive(VmConfig& config, const DrivePatch& patch);
Result<void> upsert_network_interface(VmConfig& config, NetworkInterface iface);
Result<void> patch_network_interface(VmConfig& config, const NetworkInterfacePatch& patch);

}  // namespace vessel::config
