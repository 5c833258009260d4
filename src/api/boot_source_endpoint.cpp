// PUT /boot-source (pre-boot only; the controller enforces the phase).
#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {

Result<VmmAction> parse_put_boot_source(std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto boot = config::parse_boot_source(j);
  if (!boot) return body_error(boot.error());
  return vmm::PutBootSource{std::move(*boot)};
}

}  // namespace vessel::api
