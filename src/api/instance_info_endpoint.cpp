// GET / : InstanceInfo {app_name, id, state, vmm_version}. GET /version: {"firecracker_version"}.
#include "api/endpoints.hpp"

namespace vessel::api {

Result<VmmAction> parse_get_instance_info() {
  return vmm::GetInstanceInfo{};
}

Result<VmmAction> parse_get_version() {
  return vmm::GetVersion{};
}

}  // namespace vessel::api
