// drives: Firecracker's Drive and PartialDrive. Only the description is checked here; whether
// path_on_host can be opened is the machine's business when it builds the device.
#include "config/resources_json.hpp"

namespace vessel::config {

Result<Drive> parse_drive(const Json& j, const std::string& what) {
  auto o = VESSEL_TRY(JsonObject::from(j, what));
  Drive d;
  d.drive_id = VESSEL_TRY(o.string("drive_id"));
  d.path_on_host = VESSEL_TRY(o.optional_string("path_on_host")).value_or("");
  d.is_root_device = VESSEL_TRY(o.boolean("is_root_device"));
  d.is_read_only = VESSEL_TRY(o.optional_boolean("is_read_only")).value_or(false);
  d.partuuid = VESSEL_TRY(o.optional_string("partuuid"));
  d.cache_type = VESSEL_TRY(o.optional_string("cache_type")).value_or("Unsafe");
  d.io_engine = VESSEL_TRY(o.optional_string("io_engine")).value_or("Sync");
  d.rate_limiter = keep_json(VESSEL_TRY(o.optional_object("rate_limiter")));
  // vhost-user drives (`socket`) are not supported: refusing beats silently ignoring.
  if (VESSEL_TRY(o.optional_string("socket")))
    return fail("{}: vhost-user drives (`socket`) are not supported", what);
  VESSEL_TRY_VOID(o.finish());
  if (auto ok = check_resource_id(d.drive_id); !ok) return std::unexpected(ok.error());
  if (d.path_on_host.empty()) return fail("{}: missing field `path_on_host`", what);
  if (d.cache_type != "Unsafe" && d.cache_type != "Writeback")
    return fail("{}: unknown cache_type `{}` (Unsafe or Writeback)", what, d.cache_type);
  if (d.io_engine != "Sync" && d.io_engine != "Async")
    return fail("{}: unknown io_engine `{}` (Sync or Async)", what, d.io_engine);
  return d;
}

Result<DrivePatch> parse_drive_patch(const Json& j) {
  auto o = VESSEL_TRY(JsonObject::from(j, "drive"));
  DrivePatch p;
  p.drive_id = VESSEL_TRY(o.string("drive_id"));
  p.path_on_host = VESSEL_TRY(o.optional_string("path_on_host"));
  p.rate_limiter = keep_json(VESSEL_TRY(o.optional_object("rate_limiter")));
  VESSEL_TRY_VOID(o.finish());
  VESSEL_TRY_VOID(check_resource_id(p.drive_id));
  if (p.path_on_host && p.path_on_host->empty()) return fail("drive: path_on_host is empty");
  return p;
}

Json to_json(const Drive& d) {
  Json j = {{"drive_id", d.drive_id},
            {"path_on_host", d.path_on_host},
            {"is_root_device", d.is_root_device},
            {"is_read_only", d.is_read_only},
            {"cache_type", d.cache_type},
            {"io_engine", d.io_engine}};
  if (d.partuuid) j["partuuid"] = *d.partuuid;
  if (d.rate_limiter) j["rate_limiter"] = restore_json(*d.rate_limiter);
  return j;
}

}  // namespace vessel::config
