// The API's listening socket. A path that already exists is refused, never taken over:
//  - a socket some process listens on: another VMM (or an earlier vessel) owns it;
//  - a socket nobody listens on (left by a process that died): refused too, as Firecracker's
//    bind() refuses it, because vessel cannot tell a stale file from one a manager is about
//    to reuse; the message says to remove it;
//  - anything else (a regular file, a folder): refused.
#pragma once

#include <string>

#include <sys/types.h>

#include "base/result.hpp"
#include "base/unique_fd.hpp"

namespace vessel::api {

struct UnixListener {
  UniqueFd fd;    // bound, listening, non-blocking
  ino_t inode{};  // the socket file we created, so that only it is removed at exit
};

Result<UnixListener> listen_unix(const std::string& path);
// Removes the socket file if it is still the one `listener` created.
void remove_socket_file(const std::string& path, const UnixListener& listener);

}  // namespace vessel::api
