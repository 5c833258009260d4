// logger: Firecracker's Logger {log_path, level, show_level, show_log_origin, module}.
#include "config/resources_json.hpp"

namespace vessel::config {
namespace {

// Firecracker accepts the level names in any case; they are kept in their canonical form.
std::optional<std::string> canonical_level(std::string_view level) {
  static constexpr std::string_view kLevels[] = {"Off",  "Error", "Warning",
                                                 "Info", "Debug", "Trace"};
  for (auto name : kLevels) {
    if (name.size() != level.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(name[i])) ==
             std::tolower(static_cast<unsigned char>(level[i]));
    if (same) return std::string(name);
  }
  return std::nullopt;
}

}  // namespace

Result<LoggerConfig> parse_logger(const Json& j, const std::string& what) {
  auto o = VESSEL_TRY(JsonObject::from(j, what));
  LoggerConfig l;
  l.log_path = VESSEL_TRY(o.optional_string("log_path"));
  auto level = VESSEL_TRY(o.optional_string("level"));
  l.show_level = VESSEL_TRY(o.optional_boolean("show_level")).value_or(false);
  l.show_log_origin = VESSEL_TRY(o.optional_boolean("show_log_origin")).value_or(false);
  l.module = VESSEL_TRY(o.optional_string("module"));
  VESSEL_TRY_VOID(o.finish());
  if (level) {
    auto c = canonical_level(*level);
    if (!c)
      return fail("{}: unknown level `{}` (Off, Error, Warning, Info, Debug or Trace)", what,
                  *level);
    l.level = *c;
  }
  if (l.log_path && l.log_path->empty()) return fail("{}: log_path is empty", what);
  return l;
}

Json to_json(const LoggerConfig& l) {
  Json j = {
      {"level", l.level}, {"show_level", l.show_level}, {"show_log_origin", l.show_log_origin}};
  if (l.log_path) j["log_path"] = *l.log_path;
  if (l.module) j["module"] = *l.module;
  return j;
}

}  // namespace vessel::config
