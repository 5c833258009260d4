// PUT /metrics (pre-boot, once).
#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {

Result<VmmAction> parse_put_metrics(std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto metrics = config::parse_metrics(j);
  if (!metrics) return body_error(metrics.error());
  return vmm::PutMetrics{std::move(*metrics)};
}

}  // namespace vessel::api
