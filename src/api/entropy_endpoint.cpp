// PUT /entropy (pre-boot).
#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {

Result<VmmAction> parse_put_entropy(std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto entropy = config::parse_entropy(j);
  if (!entropy) return body_error(entropy.error());
  return vmm::PutEntropy{std::move(*entropy)};
}

}  // namespace vessel::api
