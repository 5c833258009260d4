#include "api/http.hpp"

#include <nlohmann/json.hpp>

namespace vessel::api {

HttpResponse fault(int status, std::string_view message) {
  // dump() with error_handler::replace: a message that quotes invalid UTF-8 from a client
  // must not make serialisation throw.
  nlohmann::json j = {{"fault_message", std::string(message)}};
  return HttpResponse{status, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

}  // namespace vessel::api
