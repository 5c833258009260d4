#include "config/json_object.hpp"

namespace vessel::config {

Result<Json> parse_json(std::string_view text) {
  // nlohmann reports syntax errors by exception; it is caught here so that callers only see
  // a Result. The parser itself is iterative, so deep nesting cannot exhaust the stack.
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, ..." → drop the tag.
    if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
    return fail("{}", what);
  }
}

std::string_view json_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null:
      return "null";
    case Json::value_t::object:
      return "object";
    case Json::value_t::array:
      return "array";
    case Json::value_t::string:
      return "string";
    case Json::value_t::boolean:
      return "boolean";
    case Json::value_t::number_integer:
      return value.get<int64_t>() < 0 ? "negative integer" : "integer";
    case Json::value_t::number_unsigned:
      return "integer";
    case Json::value_t::number_float:
      return "floating-point number";
    default:
      return "value";
  }
}

Result<JsonObject> JsonObject::from(const Json& value, std::string what) {
  if (!value.is_object())
    return fail("{}: invalid type: {}, expected an object", what, json_type_name(value));
  return JsonObject(value, std::move(what));
}

const Json* JsonObject::find(std::string_view key) {
  seen_.emplace(key);
  auto it = value_->find(key);
  if (it == value_->end()) return nullptr;
  return &*it;
}

std::unexpected<Error> JsonObject::type_error(std::string_view key,
                                              std::string_view expected) const {
  return fail("{}: invalid type for field `{}`: {}, expected {}", what_, key,
              json_type_name(value_->at(std::string(key))), expected);
}

Result<std::optional<std::string>> JsonObject::optional_string(std::string_view key) {
  const Json* v = find(key);
  if (!v || v->is_null()) return std::optional<std::string>{};  // serde: null is None
  if (!v->is_string()) return type_error(key, "a string");
  return std::optional<std::string>{v->get<std::string>()};
}

Result<std::string> JsonObject::string(std::string_view key) {
  auto v = VESSEL_TRY(optional_string(key));
  if (!v) return fail("{}: missing field `{}`", what_, key);
  return *v;
}

Result<std::optional<bool>> JsonObject::optional_boolean(std::string_view key) {
  const Json* v = find(key);
  if (!v || v->is_null()) return std::optional<bool>{};
  if (!v->is_boolean()) return type_error(key, "a boolean");
  return std::optional<bool>{v->get<bool>()};
}

Result<bool> JsonObject::boolean(std::string_view key) {
  auto v = VESSEL_TRY(optional_boolean(key));
  if (!v) return fail("{}: missing field `{}`", what_, key);
  return *v;
}

Result<std::optional<uint64_t>> JsonObject::optional_unsigned_int(std::string_view key) {
  const Json* v = find(key);
  if (!v || v->is_null()) return std::optional<uint64_t>{};
  // nlohmann stores non-negative integer literals as number_unsigned; floats ("2.0", "1e3")
  // and negative numbers are refused, as serde refuses them for Firecracker's integer fields.
  if (!v->is_number_unsigned()) return type_error(key, "a non-negative integer");
  return std::optional<uint64_t>{v->get<uint64_t>()};
}

Result<uint64_t> JsonObject::unsigned_int(std::string_view key) {
  auto v = VESSEL_TRY(optional_unsigned_int(key));
  if (!v) return fail("{}: missing field `{}`", what_, key);
  return *v;
}

Result<std::optional<Json>> JsonObject::optional_object(std::string_view key) {
  const Json* v = find(key);
  if (!v || v->is_null()) return std::optional<Json>{};
  if (!v->is_object()) return type_error(key, "an object");
  return std::optional<Json>{*v};
}

Result<std::optional<Json>> JsonObject::optional_array(std::string_view key) {
  const Json* v = find(key);
  if (!v || v->is_null()) return std::optional<Json>{};
  if (!v->is_array()) return type_error(key, "an array");
  return std::optional<Json>{*v};
}

Result<void> JsonObject::finish() const {
  for (const auto& [key, value] : value_->items())
    if (!seen_.contains(key)) return fail("{}: unknown field `{}`", what_, key);
  return {};
}

}  // namespace vessel::config

namespace vessel::config {

Result<void> check_resource_id(std::string_view id) {
  // Firecracker's checked_id(): the id is a path segment and a map key.
  if (id.empty()) return fail("The ID cannot be empty.");
  for (char c : id) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok)
      return fail("API Resource IDs can only contain alphanumeric characters and underscores.");
  }
  if (id.size() > 64) return fail("API Resource IDs are at most 64 characters long.");
  return {};
}

std::optional<std::string> keep_json(const std::optional<Json>& value) {
  if (!value) return std::nullopt;
  return value->dump();
}

Json restore_json(const std::string& text) {
  // Only ever given text that keep_json() produced, so it parses.
  return Json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace vessel::config
