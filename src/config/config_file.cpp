// --config-file: Firecracker's JSON layout, one key per resource. Sections are applied with
// the same rules as the API calls that carry them (resource_rules.hpp).
#include <fstream>
#include <sstream>

#include "config/resource_rules.hpp"
#include "config/resources_json.hpp"

namespace vessel::config {
namespace {

Result<void> apply_arrays(JsonObject& o, VmConfig& c) {
  if (auto drives = VESSEL_TRY(o.optional_array("drives"))) {
    for (size_t i = 0; i < drives->size(); ++i) {
      auto d = VESSEL_TRY(parse_drive((*drives)[i], fmt::format("drives[{}]", i)));
      for (const auto& x : c.drives)
        if (x.drive_id == d.drive_id)
          return fail("drives[{}]: duplicate drive_id `{}`", i, d.drive_id);
      VESSEL_TRY_VOID(upsert_drive(c, std::move(d)));
    }
  }
  if (auto ifaces = VESSEL_TRY(o.optional_array("network-interfaces"))) {
    for (size_t i = 0; i < ifaces->size(); ++i) {
      auto n = VESSEL_TRY(
          parse_network_interface((*ifaces)[i], fmt::format("network-interfaces[{}]", i)));
      for (const auto& x : c.network_interfaces)
        if (x.iface_id == n.iface_id)
          return fail("network-interfaces[{}]: duplicate iface_id `{}`", i, n.iface_id);
      VESSEL_TRY_VOID(upsert_network_interface(c, std::move(n)));
    }
  }
  return {};
}

}  // namespace

Result<VmConfig> parse_config_file(const Json& j, VmConfig c) {
  auto o = VESSEL_TRY(JsonObject::from(j, "config file"));
  if (auto boot = VESSEL_TRY(o.optional_object("boot-source")))
    c.boot = VESSEL_TRY(parse_boot_source(*boot));
  else
    return fail("config file: missing field `boot-source`");
  if (auto m = VESSEL_TRY(o.optional_object("machine-config"))) {
    auto engine = c.machine.engine;
    c.machine = VESSEL_TRY(parse_machine_config(*m));
    // An engine chosen on the command line stays unless the file names one.
    if (!m->contains("engine")) c.machine.engine = engine;
  }
  VESSEL_TRY_VOID(apply_arrays(o, c));
  if (auto l = VESSEL_TRY(o.optional_object("logger"))) c.logger = VESSEL_TRY(parse_logger(*l));
  if (auto m = VESSEL_TRY(o.optional_object("metrics"))) c.metrics = VESSEL_TRY(parse_metrics(*m));
  if (auto e = VESSEL_TRY(o.optional_object("entropy"))) c.entropy = VESSEL_TRY(parse_entropy(*e));
  // Sections of Firecracker's schema that vessel does not implement: refused by name rather
  // than reported as unknown, so the message says what is missing.
  for (const char* unsupported : {"vsock", "balloon", "mmds-config", "cpu-config"})
    if (VESSEL_TRY(o.optional_object(unsupported)))
      return fail("config file: `{}` is not supported by vessel yet", unsupported);
  VESSEL_TRY_VOID(o.finish());
  return c;
}

Result<VmConfig> load_config_file(const std::string& path, VmConfig base) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open config file {}", path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > (size_t{16} << 20)) return fail("config file {} is too large", path);
  auto json = parse_json(text.str());
  if (!json) return context(json.error(), "config file {}", path);
  auto config = parse_config_file(*json, std::move(base));
  if (!config) return context(config.error(), "{}", path);
  return config;
}

Json to_json(const VmConfig& c) {
  Json j = Json::object();
  if (!c.boot.kernel.empty()) j["boot-source"] = to_json(c.boot);
  j["machine-config"] = to_json(c.machine);
  j["drives"] = Json::array();
  for (const auto& d : c.drives) j["drives"].push_back(to_json(d));
  j["network-interfaces"] = Json::array();
  for (const auto& n : c.network_interfaces) j["network-interfaces"].push_back(to_json(n));
  if (c.logger) j["logger"] = to_json(*c.logger);
  if (c.metrics) j["metrics"] = to_json(*c.metrics);
  if (c.entropy) j["entropy"] = to_json(*c.entropy);
  return j;
}

}  // namespace vessel::config
