#include "app/net_option.hpp"

#include <fmt/format.h>

#include <charconv>
#include <string_view>

#include "config/resources_json.hpp"

namespace vessel::app {
namespace {

Result<uint16_t> parse_port(std::string_view text, std::string_view what) {
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535)
    return fail("{} port '{}' is not a number in 1..65535", what, text);
  return static_cast<uint16_t>(value);
}

// QEMU's form: [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT.
Result<config::HostForward> parse_hostfwd(std::string_view text) {
  config::HostForward f;
  const size_t c1 = text.find(':');
  const size_t dash = text.find('-');
  if (c1 == std::string_view::npos || dash == std::string_view::npos || dash < c1)
    return fail("hostfwd '{}': expected tcp::HOSTPORT-:GUESTPORT", text);
  const std::string_view proto = text.substr(0, c1);
  if (proto == "udp")
    f.udp = true;
  else if (proto != "tcp" && !proto.empty())
    return fail("hostfwd '{}': protocol '{}' is not tcp or udp", text, proto);
  const std::string_view host = text.substr(c1 + 1, dash - c1 - 1);  // [HOSTADDR]:HOSTPORT
  const std::string_view guest = text.substr(dash + 1);              // [GUESTADDR]:GUESTPORT
  const size_t hc = host.find(':'), gc = guest.find(':');
  if (hc == std::string_view::npos || gc == std::string_view::npos)
    return fail("hostfwd '{}': expected tcp::HOSTPORT-:GUESTPORT", text);
  const std::string_view host_addr = host.substr(0, hc);
  if (!host_addr.empty() && host_addr != "127.0.0.1")
    return fail("hostfwd '{}': forwarded ports listen on 127.0.0.1 only", text);
  const std::string_view guest_addr = guest.substr(0, gc);
  if (!guest_addr.empty() && guest_addr != "10.0.2.15")
    return fail("hostfwd '{}': the guest is 10.0.2.15 on the user network", text);
  f.host_port = VESSEL_TRY(parse_port(host.substr(hc + 1), "host"));
  f.guest_port = VESSEL_TRY(parse_port(guest.substr(gc + 1), "guest"));
  return f;
}

Result<config::NetworkInterface> parse_items(std::string_view text, unsigned index) {
  config::NetworkInterface iface;
  iface.iface_id = fmt::format("net{}", index);
  std::string_view rest = text;
  bool first = true;
  while (!rest.empty() || first) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    if (first) {
      first = false;
      if (item == config::kUserNetwork) {
        iface.host_dev_name = std::string(config::kUserNetwork);
      } else if (key == "tap" && eq != std::string_view::npos) {
        if (value.empty() || value.size() > 15 || value == config::kUserNetwork)
          return fail("tap name '{}' is not a valid interface name (1 to 15 bytes)", value);
        iface.host_dev_name = std::string(value);
      } else {
        return fail("expected 'user' or 'tap=NAME' first, got '{}'", item);
      }
      continue;
    }
    if (eq == std::string_view::npos) return fail("expected key=value, got '{}'", item);
    if (key == "mac") {
      VESSEL_TRY_VOID(config::check_mac_address(value));
      iface.guest_mac = std::string(value);
    } else if (key == "hostfwd") {
      if (iface.host_dev_name != config::kUserNetwork)
        return fail("hostfwd needs the user network (--net user,hostfwd=...)");
      iface.host_forwards.push_back(VESSEL_TRY(parse_hostfwd(value)));
    } else {
      return fail("unknown key '{}' (known: mac, hostfwd)", key);
    }
  }
  return iface;
}

}  // namespace

Result<config::NetworkInterface> parse_net_option(const std::string& text, unsigned index) {
  auto iface = parse_items(text, index);
  if (!iface) return fail("--net '{}': {}", text, iface.error().message);
  return iface;
}

}  // namespace vessel::app
