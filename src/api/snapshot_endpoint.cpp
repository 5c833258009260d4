// PUT /snapshot/create (post-boot, paused) and PUT /snapshot/load (pre-boot, nothing else
// configured).
#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {

Result<VmmAction> parse_put_snapshot(std::optional<std::string_view> what, std::string_view body) {
  if (what == "create") {
    auto j = VESSEL_TRY(parse_body(body));
    auto params = config::parse_snapshot_create(j);
    if (!params) return body_error(params.error());
    return vmm::CreateSnapshot{std::move(*params)};
  }
  if (what == "load") {
    auto j = VESSEL_TRY(parse_body(body));
    auto params = config::parse_snapshot_load(j);
    if (!params) return body_error(params.error());
    return vmm::LoadSnapshot{std::move(*params)};
  }
  return fail("Invalid request method and/or path: PUT /snapshot/{}.", what.value_or(""));
}

}  // namespace vessel::api
