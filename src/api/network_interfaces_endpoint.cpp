// PUT /network-interfaces/{iface_id} (pre-boot) and PATCH (post-boot, rate limiters only).
#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {

Result<VmmAction> parse_put_network_interface(std::optional<std::string_view> id,
                                              std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto iface = config::parse_network_interface(j);
  if (!iface) return body_error(iface.error());
  VESSEL_TRY_VOID(check_path_id(id, iface->iface_id));
  return vmm::PutNetworkInterface{std::move(*iface)};
}

Result<VmmAction> parse_patch_network_interface(std::optional<std::string_view> id,
                                                std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto patch = config::parse_network_interface_patch(j);
  if (!patch) return body_error(patch.error());
  VESSEL_TRY_VOID(check_path_id(id, patch->iface_id));
  return vmm::PatchNetworkInterface{std::move(*patch)};
}

}  // namespace vessel::api
