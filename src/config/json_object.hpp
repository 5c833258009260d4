// JsonObject: strict reading of one JSON object the way Firecracker's API reads its bodies
// (serde with deny_unknown_fields): every field has one type, required fields must be
// present, and a field the schema does not name is an error that names it. The errors are
// values; no nlohmann exception leaves this module.
//
// This is not a schema language: each resource's parser (drive.cpp, boot_source.cpp, ...)
// says field by field what it accepts.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/result.hpp"

namespace vessel::config {

using Json = nlohmann::json;

// Parses a whole request body or file. Errors carry nlohmann's position text.
Result<Json> parse_json(std::string_view text);

class JsonObject {
 public:
  // `what` names the object in error messages ("boot-source", "drives[1]").
  static Result<JsonObject> from(const Json& value, std::string what);

  Result<std::string> string(std::string_view key);
  Result<std::optional<std::string>> optional_string(std::string_view key);
  Result<bool> boolean(std::string_view key);
  Result<std::optional<bool>> optional_boolean(std::string_view key);
  Result<uint64_t> unsigned_int(std::string_view key);
  Result<std::optional<uint64_t>> optional_unsigned_int(std::string_view key);
  // An object kept as it is (rate limiters: accepted, stored, not enforced yet).
  Result<std::optional<Json>> optional_object(std::string_view key);
  Result<std::optional<Json>> optional_array(std::string_view key);

  // Fails on the first field that no accessor above asked for.
  Result<void> finish() const;

 private:
  JsonObject(const Json& value, std::string what) : value_(&value), what_(std::move(what)) {}
  const Json* find(std::string_view key);
  std::unexpected<Error> type_error(std::string_view key, std::string_view expected) const;

  const Json* value_;
  std::string what_;
  std::set<std::string, std::less<>> seen_;
};

// "string", "number", "object", ... for messages.
std::string_view json_type_name(const Json& value);

}  // namespace vessel::config
