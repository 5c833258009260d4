// boot-source: Firecracker's BootSource {kernel_image_path, initrd_path, boot_args}.
#include "config/resources_json.hpp"

namespace vessel::config {

Result<BootSource> parse_boot_source(const Json& j, const std::string& what) {
  auto o = VESSEL_TRY(JsonObject::from(j, what));
  BootSource boot;
  boot.kernel = VESSEL_TRY(o.string("kernel_image_path"));
  boot.initrd = VESSEL_TRY(o.optional_string("initrd_path")).value_or("");
  boot.cmdline = VESSEL_TRY(o.optional_string("boot_args")).value_or("");
  VESSEL_TRY_VOID(o.finish());
  if (boot.kernel.empty()) return fail("{}: kernel_image_path is empty", what);
  if (boot.cmdline.size() > 4095)
    return fail("{}: boot_args is {} bytes long (at most 4095)", what, boot.cmdline.size());
  return boot;
}

Json to_json(const BootSource& boot) {
  Json j = {{"kernel_image_path", boot.kernel}};
  if (!boot.initrd.empty()) j["initrd_path"] = boot.initrd;
  if (!boot.cmdline.empty()) j["boot_args"] = boot.cmdline;
  return j;
}

}  // namespace vessel::config
