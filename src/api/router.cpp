#include "api/router.hpp"

#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {
namespace {

std::unexpected<Error> invalid_path(const HttpRequest& r) {
  return fail("Invalid request method and/or path: {} {}.", r.method, r.path);
}

std::optional<std::string_view> segment(const std::vector<std::string_view>& parts, size_t i) {
  if (i < parts.size()) return parts[i];
  return std::nullopt;
}

Result<VmmAction> route_get(const HttpRequest& r, const std::vector<std::string_view>& p) {
  if (r.body) return fail("GET request cannot have a body.");
  const std::string_view head = p.empty() ? "" : p[0];
  if (p.empty()) return parse_get_instance_info();
  if (p.size() == 1 && head == "machine-config") return parse_get_machine_config();
  if (p.size() == 1 && head == "version") return parse_get_version();
  if (p.size() == 2 && head == "vm" && p[1] == "config") return parse_get_vm_config();
  return invalid_path(r);
}

Result<VmmAction> route_put(const HttpRequest& r, const std::vector<std::string_view>& p) {
  if (p.empty()) return invalid_path(r);
  const std::string_view head = p[0];
  // Not value_or(""): that would be a view of a temporary.
  const std::string_view body = r.body ? std::string_view(*r.body) : std::string_view{};
  const bool one = p.size() == 1;
  const bool two = p.size() <= 2;  // resources with an id in the path
  if (one && head == "boot-source") return parse_put_boot_source(body);
  if (two && head == "drives") return parse_put_drive(segment(p, 1), body);
  if (two && head == "network-interfaces") return parse_put_network_interface(segment(p, 1), body);
  if (one && head == "machine-config") return parse_put_machine_config(body);
  if (one && head == "actions") return parse_put_actions(body);
  if (one && head == "logger") return parse_put_logger(body);
  if (one && head == "metrics") return parse_put_metrics(body);
  if (one && head == "entropy") return parse_put_entropy(body);
  if (p.size() == 2 && head == "snapshot") return parse_put_snapshot(segment(p, 1), body);
  return invalid_path(r);
}

Result<VmmAction> route_patch(const HttpRequest& r, const std::vector<std::string_view>& p) {
  if (p.empty()) return invalid_path(r);
  const std::string_view head = p[0];
  // Not value_or(""): that would be a view of a temporary.
  const std::string_view body = r.body ? std::string_view(*r.body) : std::string_view{};
  const bool one = p.size() == 1;
  const bool two = p.size() <= 2;
  if (two && head == "drives") return parse_patch_drive(segment(p, 1), body);
  if (two && head == "network-interfaces")
    return parse_patch_network_interface(segment(p, 1), body);
  if (one && head == "machine-config") return parse_patch_machine_config(body);
  if (one && head == "vm") return parse_patch_vm(body);
  return invalid_path(r);
}

Result<VmmAction> parse_request(const HttpRequest& r) {
  const auto parts = split_path(r.path);
  if (r.method == "GET" || r.method == "HEAD") return route_get(r, parts);
  // Firecracker checks for a missing body before the path.
  if (r.method == "PUT") return r.body ? route_put(r, parts) : fail("Empty PUT request.");
  if (r.method == "PATCH") return r.body ? route_patch(r, parts) : fail("Empty PATCH request.");
  return invalid_path(r);
}

config::Json instance_info_json(const vmm::InstanceInfo& i) {
  return {{"app_name", i.app_name},
          {"id", i.id},
          {"state", std::string(vmm::to_string(i.state))},
          {"vmm_version", i.vmm_version}};
}

}  // namespace

HttpResponse to_response(const vmm::ActionResult& result) {
  if (!result) return fault(400, result.error().message);
  struct Visitor {
    HttpResponse operator()(std::monostate) const { return {204, ""}; }
    HttpResponse operator()(const vmm::InstanceInfo& i) const {
      return {200, instance_info_json(i).dump()};
    }
    HttpResponse operator()(const config::MachineSpec& m) const {
      return {200, config::to_json(m).dump()};
    }
    HttpResponse operator()(const config::VmConfig& c) const {
      return {200, config::to_json(c).dump(-1, ' ', false, config::Json::error_handler_t::replace)};
    }
    HttpResponse operator()(const vmm::VersionInfo& v) const {
      return {200, config::Json{{"firecracker_version", v.version}}.dump()};
    }
  };
  return std::visit(Visitor{}, *result);
}

HttpResponse handle_request(const HttpRequest& request, vmm::ActionHandler& handler) {
  auto action = parse_request(request);
  if (!action) return fault(400, action.error().message);
  return to_response(handler.handle(std::move(*action)));
}

}  // namespace vessel::api
