#include "config/resource_rules.hpp"

#include <algorithm>
#include <cctype>

namespace vessel::config {
namespace {

bool same_mac(const std::string& a, const std::string& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

Result<void> upsert_drive(VmConfig& c, Drive d) {
  auto it = std::find_if(c.drives.begin(), c.drives.end(),
                         [&](const Drive& x) { return x.drive_id == d.drive_id; });
  if (d.is_root_device) {
    for (const auto& x : c.drives)
      if (x.is_root_device && x.drive_id != d.drive_id)
        return fail("A root block device already exists!");
  }
  if (it != c.drives.end())
    *it = std::move(d);
  else
    c.drives.push_back(std::move(d));
  // The root device goes first, as Firecracker orders it (it becomes /dev/vda).
  std::stable_partition(c.drives.begin(), c.drives.end(),
                        [](const Drive& x) { return x.is_root_device; });
  return {};
}

Result<void> patch_drive(VmConfig& c, const DrivePatch& p) {
  auto it = std::find_if(c.drives.begin(), c.drives.end(),
                         [&](const Drive& x) { return x.drive_id == p.drive_id; });
  if (it == c.drives.end()) return fail("Invalid block device ID: {}", p.drive_id);
  if (p.path_on_host) it->path_on_host = *p.path_on_host;
  if (p.rate_limiter) it->rate_limiter = p.rate_limiter;
  return {};
}

Result<void> upsert_network_interface(VmConfig& c, NetworkInterface n) {
  for (const auto& x : c.network_interfaces) {
    if (x.iface_id == n.iface_id) continue;
    if (x.host_dev_name == n.host_dev_name)
      return fail("The host device name {} is already in use.", n.host_dev_name);
    if (x.guest_mac && n.guest_mac && same_mac(*x.guest_mac, *n.guest_mac))
      return fail("The guest MAC address {} is already in use.", *n.guest_mac);
  }
  auto it = std::find_if(c.network_interfaces.begin(), c.network_interfaces.end(),
                         [&](const NetworkInterface& x) { return x.iface_id == n.iface_id; });
  if (it != c.network_interfaces.end())
    *it = std::move(n);
  else
    c.network_interfaces.push_back(std::move(n));
  return {};
}

Result<void> patch_network_interface(VmConfig& c, const NetworkInterfacePatch& p) {
  auto it = std::find_if(c.network_interfaces.begin(), c.network_interfaces.end(),
                         [&](const NetworkInterface& x) { return x.iface_id == p.iface_id; });
  if (it == c.network_interfaces.end()) return fail("Invalid network interface ID: {}", p.iface_id);
  if (p.rx_rate_limiter) it->rx_rate_limiter = p.rx_rate_limiter;
  if (p.tx_rate_limiter) it->tx_rate_limiter = p.tx_rate_limiter;
  return {};
}

}  // namespace vessel::config
