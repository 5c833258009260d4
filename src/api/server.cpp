#include "api/server.hpp"

#include <microhttpd.h>

#include <charconv>
#include <cstring>

#include "api/router.hpp"
#include "base/log.hpp"

namespace vessel::api {
namespace {

// One request being received: its body so far, and whether it already broke a limit.
struct Pending {
  std::string body;
  bool has_body = false;
  bool refused = false;    // the answer is already queued
  bool too_large = false;  // a streamed body passed the limit: the rest is being discarded
  size_t discarded = 0;
};

// A streamed body that passed the limit is read on and thrown away up to this much, so that
// the client can read the 400 (closing on unread data would reset the connection and lose
// the answer); past it the connection is answered and closed at once.
constexpr size_t kDiscardLimit = 1 << 20;

MHD_Result send(MHD_Connection* c, const HttpResponse& r) {
  MHD_Response* response = MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY);
  if (!response) return MHD_NO;
  if (!r.body.empty()) MHD_add_response_header(response, "Content-Type", "application/json");
  MHD_add_response_header(response, "Server", "vessel API");
  const MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(r.status), response);
  MHD_destroy_response(response);
  return ok;
}

HttpResponse too_large(size_t limit) {
  return fault(
      400, fmt::format("Request payload is larger than the limit of {} bytes allowed by server.",
                       limit));
}

// Content-Length above the limit is refused before any of the body is read.
bool declared_too_large(MHD_Connection* c, size_t limit) {
  const char* text =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (!text) return false;
  size_t n = 0;
  auto [end, ec] = std::from_chars(text, text + std::strlen(text), n);
  return ec != std::errc{} || n > limit;
}

MHD_Result on_request(void* cls, MHD_Connection* c, const char* url, const char* method,
                      const char* /*version*/, const char* upload_data, size_t* upload_size,
                      void** state) {
  auto& server = *static_cast<ApiServer*>(cls);
  const size_t limit = server.options().max_body_bytes;
  auto* p = static_cast<Pending*>(*state);
  if (!p) {  // headers received: the first call for this request
    p = new Pending;
    *state = p;
    if (declared_too_large(c, limit)) {
      p->refused = true;
      return send(c, too_large(limit));  // MHD then closes without reading the body
    }
    return MHD_YES;
  }
  if (*upload_size != 0) {
    p->has_body = true;
    if (!p->too_large && p->body.size() + *upload_size > limit) {
      p->too_large = true;
      p->body.clear();
      p->body.shrink_to_fit();
    }
    if (p->too_large) {
      p->discarded += *upload_size;
      *upload_size = 0;
      if (p->discarded > kDiscardLimit && !p->refused) {
        p->refused = true;
        return send(c, too_large(limit));
      }
      return MHD_YES;
    }
    p->body.append(upload_data, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  if (p->refused) return MHD_YES;  // the answer is already queued
  if (p->too_large) {
    p->refused = true;
    return send(c, too_large(limit));
  }
  HttpRequest request{method, url, std::nullopt};
  if (p->has_body) request.body = std::move(p->body);
  const HttpResponse response = handle_request(request, server.handler());
  log::debug("API: {} {} -> {}", method, url, response.status);
  return send(c, response);
}

// Paths are taken as sent, as Firecracker's server takes them: "/%00" or "/drives/a%2Fb" are
// then plain unknown paths, and a decoded NUL can never cut a path short.
size_t keep_escapes(void*, MHD_Connection*, char* text) {
  return std::strlen(text);
}

void on_completed(void*, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
  delete static_cast<Pending*>(*state);
  *state = nullptr;
}

}  // namespace

ApiServer::ApiServer(std::string path, UnixListener listener, vmm::ActionHandler& handler,
                     ServerOptions options)
    : path_(std::move(path)),
      listener_(std::move(listener)),
      handler_(handler),
      options_(options) {}

Result<std::unique_ptr<ApiServer>> ApiServer::start(const std::string& socket_path,
                                                    vmm::ActionHandler& handler,
                                                    ServerOptions options) {
  auto listener = VESSEL_TRY(listen_unix(socket_path));
  std::unique_ptr<ApiServer> server(
      new ApiServer(socket_path, std::move(listener), handler, options));
  const int fd = server->listener_.fd.get();
  server->daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, nullptr, nullptr, &on_request,
      server.get(), MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT,
      options.idle_timeout_seconds, MHD_OPTION_CONNECTION_LIMIT, options.max_connections,
      // Bounds the request line and headers of each connection.
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, size_t{64 * 1024}, MHD_OPTION_NOTIFY_COMPLETED,
      &on_completed, nullptr, MHD_OPTION_UNESCAPE_CALLBACK, &keep_escapes, nullptr, MHD_OPTION_END);
  if (!server->daemon_) {
    remove_socket_file(socket_path, server->listener_);
    return fail("cannot start the API server on {}", socket_path);
  }
  log::info("API server listening on {}", socket_path);
  return server;
}

ApiServer::~ApiServer() {
  if (daemon_) MHD_stop_daemon(daemon_);
  remove_socket_file(path_, listener_);
}

}  // namespace vessel::api
