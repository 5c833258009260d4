// ApiServer: HTTP/1.1 on a Unix socket, answering with the router (router.hpp).
//
// Library: GNU libmicrohttpd (Debian's libmicrohttpd-dev), chosen over Boost.Beast because it
// is a small, long-maintained C library whose event loop already does what a hostile client
// demands: per-connection idle timeouts (a client that sends half a request is dropped, and
// never blocks others: connections are multiplexed with epoll on one thread), a connection
// limit, a bounded header buffer, and it accepts a listening socket we create ourselves
// (MHD_OPTION_LISTEN_SOCKET), so the Unix socket and its "already in use" rules stay ours.
// Beast would need all of that written by hand around asio, and costs minutes of compile time
// per translation unit on this project's small build machines.
//
// Requests are answered one at a time on the server thread, as Firecracker's API thread does:
// actions are short, and serialising them keeps the VMM's state simple.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "api/unix_listener.hpp"
#include "base/result.hpp"
#include "vmm/action.hpp"

struct MHD_Daemon;

namespace vessel::api {

struct ServerOptions {
  size_t max_body_bytes = 51200;
  unsigned idle_timeout_seconds = 10;  // a silent or too slow connection is closed
  unsigned max_connections = 64;
};

class ApiServer {
 public:
  static Result<std::unique_ptr<ApiServer>> start(const std::string& socket_path,
                                                  vmm::ActionHandler& handler,
                                                  ServerOptions options = {});
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Used by the MHD callbacks (server.cpp).
  vmm::ActionHandler& handler() { return handler_; }
  const ServerOptions& options() const { return options_; }

 private:
  ApiServer(std::string path, UnixListener listener, vmm::ActionHandler& handler,
            ServerOptions options);

  std::string path_;
  UnixListener listener_;
  vmm::ActionHandler& handler_;
  ServerOptions options_;
  MHD_Daemon* daemon_ = nullptr;
};

}  // namespace vessel::api
