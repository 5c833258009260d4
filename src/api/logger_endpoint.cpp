// PUT /logger (pre-boot).
#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {

Result<VmmAction> parse_put_logger(std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto logger = config::parse_logger(j);
  if (!logger) return body_error(logger.error());
  return vmm::PutLogger{std::move(*logger)};
}

}  // namespace vessel::api
