// metrics: Firecracker's Metrics {metrics_path}.
#include "config/resources_json.hpp"

namespace vessel::config {

Result<MetricsConfig> parse_metrics(const Json& j, const std::string& what) {
  auto o = VESSEL_TRY(JsonObject::from(j, what));
  MetricsConfig m;
  m.metrics_path = VESSEL_TRY(o.string("metrics_path"));
  VESSEL_TRY_VOID(o.finish());
  if (m.metrics_path.empty()) return fail("{}: metrics_path is empty", what);
  return m;
}

Json to_json(const MetricsConfig& m) {
  return Json{{"metrics_path", m.metrics_path}};
}

}  // namespace vessel::config
