// network-interfaces: Firecracker's NetworkInterface and PartialNetworkInterface.
#include "config/resources_json.hpp"

namespace vessel::config {
namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

Result<void> check_mac_address(std::string_view mac) {
  // Six colon-separated pairs of hex digits, "06:00:AC:10:00:02".
  bool ok = mac.size() == 17;
  for (size_t i = 0; ok && i < mac.size(); ++i) ok = (i % 3 == 2) ? mac[i] == ':' : is_hex(mac[i]);
  if (!ok) return fail("The MAC address is invalid: {}", mac);
  return {};
}

Result<NetworkInterface> parse_network_interface(const Json& j, const std::string& what) {
  auto o = VESSEL_TRY(JsonObject::from(j, what));
  NetworkInterface n;
  n.iface_id = VESSEL_TRY(o.string("iface_id"));
  n.host_dev_name = VESSEL_TRY(o.string("host_dev_name"));
  n.guest_mac = VESSEL_TRY(o.optional_string("guest_mac"));
  n.rx_rate_limiter = keep_json(VESSEL_TRY(o.optional_object("rx_rate_limiter")));
  n.tx_rate_limiter = keep_json(VESSEL_TRY(o.optional_object("tx_rate_limiter")));
  VESSEL_TRY_VOID(o.finish());
  VESSEL_TRY_VOID(check_resource_id(n.iface_id));
  // IFNAMSIZ is 16 with the terminating NUL (linux/if.h).
  if (n.host_dev_name.empty() || n.host_dev_name.size() > 15)
    return fail("{}: host_dev_name `{}` is not a valid interface name (1 to 15 bytes)", what,
                n.host_dev_name);
  if (n.guest_mac) VESSEL_TRY_VOID(check_mac_address(*n.guest_mac));
  return n;
}

Result<NetworkInterfacePatch> parse_network_interface_patch(const Json& j) {
  auto o = VESSEL_TRY(JsonObject::from(j, "network-interface"));
  NetworkInterfacePatch p;
  p.iface_id = VESSEL_TRY(o.string("iface_id"));
  p.rx_rate_limiter = keep_json(VESSEL_TRY(o.optional_object("rx_rate_limiter")));
  p.tx_rate_limiter = keep_json(VESSEL_TRY(o.optional_object("tx_rate_limiter")));
  VESSEL_TRY_VOID(o.finish());
  VESSEL_TRY_VOID(check_resource_id(p.iface_id));
  return p;
}

Json to_json(const NetworkInterface& n) {
  Json j = {{"iface_id", n.iface_id}, {"host_dev_name", n.host_dev_name}};
  if (n.guest_mac) j["guest_mac"] = *n.guest_mac;
  if (n.rx_rate_limiter) j["rx_rate_limiter"] = restore_json(*n.rx_rate_limiter);
  if (n.tx_rate_limiter) j["tx_rate_limiter"] = restore_json(*n.tx_rate_limiter);
  return j;
}

}  // namespace vessel::config
