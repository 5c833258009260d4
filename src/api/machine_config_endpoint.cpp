// GET /machine-config (any time; tools poll it for readiness), PUT and PATCH (pre-boot).
#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {

Result<VmmAction> parse_get_machine_config() {
  return vmm::GetMachineConfig{};
}

Result<VmmAction> parse_put_machine_config(std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto machine = config::parse_machine_config(j);
  if (!machine) return body_error(machine.error());
  return vmm::PutMachineConfig{*machine};
}

Result<VmmAction> parse_patch_machine_config(std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto patch = config::parse_machine_config_patch(j);
  if (!patch) return body_error(patch.error());
  return vmm::PatchMachineConfig{*patch};
}

}  // namespace vessel::api
