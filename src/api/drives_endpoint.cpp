// PUT /drives/{drive_id} (pre-boot) and PATCH /drives/{drive_id} (post-boot).
#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {

Result<VmmAction> parse_put_drive(std::optional<std::string_view> id, std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto drive = config::parse_drive(j);
  if (!drive) return body_error(drive.error());
  VESSEL_TRY_VOID(check_path_id(id, drive->drive_id));
  return vmm::PutDrive{std::move(*drive)};
}

Result<VmmAction> parse_patch_drive(std::optional<std::string_view> id, std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto patch = config::parse_drive_patch(j);
  if (!patch) return body_error(patch.error());
  VESSEL_TRY_VOID(check_path_id(id, patch->drive_id));
  return vmm::PatchDrive{std::move(*patch)};
}

}  // namespace vessel::api
