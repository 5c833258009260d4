// entropy: Firecracker's EntropyDevice {rate_limiter} (a virtio-rng device).
#include "config/resources_json.hpp"

namespace vessel::config {

Result<EntropyConfig> parse_entropy(const Json& j, const std::string& what) {
  auto o = VESSEL_TRY(JsonObject::from(j, what));
  EntropyConfig e;
  e.rate_limiter = keep_json(VESSEL_TRY(o.optional_object("rate_limiter")));
  VESSEL_TRY_VOID(o.finish());
  return e;
}

Json to_json(const EntropyConfig& e) {
  Json j = Json::object();
  if (e.rate_limiter) j["rate_limiter"] = restore_json(*e.rate_limiter);
  return j;
}

}  // namespace vessel::config
