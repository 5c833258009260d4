// Helpers shared by the endpoint parsers.
#include "api/endpoints.hpp"
#include "config/resources_json.hpp"

namespace vessel::api {

std::unexpected<Error> body_error(const Error& e) {
  return fail("An error occurred when deserializing the json body of a request: {}", e.message);
}

Result<config::Json> parse_body(std::string_view body) {
  auto j = config::parse_json(body);
  if (!j) return body_error(j.error());
  return j;
}

Result<void> check_path_id(std::optional<std::string_view> path_id, const std::string& body_id) {
  if (!path_id) return fail("The ID cannot be empty.");
  VESSEL_TRY_VOID(config::check_resource_id(*path_id));
  if (*path_id != body_id) return fail("The id from the path does not match the id from the body!");
  return {};
}

}  // namespace vessel::api
