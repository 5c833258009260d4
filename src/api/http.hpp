// The HTTP side of the API, reduced to what the endpoints need: a request (method, path
// segments, body) and a response (status, JSON body). The server (server.cpp) fills and sends
// these; everything between is plain functions testable without a socket.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vessel::api {

// Firecracker's default HTTP payload limit (--http-api-max-payload-size, 51200 bytes).
inline constexpr size_t kMaxBodyBytes = 51200;

struct HttpRequest {
  std::string method;               // "GET", "PUT", "PATCH", ...
  std::string path;                 // "/drives/rootfs"
  std::optional<std::string> body;  // absent when the request has no body (Content-Length 0)
};

struct HttpResponse {
  int status = 204;
  std::string body;  // JSON, or empty for 204
};

// {"fault_message": message} with `status`.
HttpResponse fault(int status, std::string_view message);

// "/drives/rootfs/" → {"drives", "rootfs"} (leading and trailing slashes ignored, as
// Firecracker splits its paths).
std::vector<std::string_view> split_path(std::string_view path);

}  // namespace vessel::api
