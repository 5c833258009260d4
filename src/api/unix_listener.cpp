#include "api/unix_listener.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vessel::api {
namespace {

Result<sockaddr_un> address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path)
    return fail("API socket path '{}' is empty or longer than {} bytes", path,
                sizeof addr.sun_path - 1);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

bool someone_listens(const sockaddr_un& addr) {
  UniqueFd probe(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!probe.valid()) return false;
  return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
}

}  // namespace

Result<UnixListener> listen_unix(const std::string& path) {
  const sockaddr_un addr = VESSEL_TRY(address(path));
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return fail("API socket path {} exists and is not a socket", path);
    if (someone_listens(addr))
      return fail("API socket {} is already in use by another process", path);
    return fail("API socket {} already exists (a stale socket? remove it first)", path);
  }
  UnixListener l;
  l.fd.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!l.fd.valid()) return fail("socket: {}", std::strerror(errno));
  // bind() creates the file and fails with EADDRINUSE if it appeared since the check: the
  // refusal above has no window.
  if (::bind(l.fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return fail("cannot bind the API socket {}: {}", path, std::strerror(errno));
  if (::listen(l.fd.get(), 128) != 0) {
    const int e = errno;
    ::unlink(path.c_str());
    return fail("cannot listen on the API socket {}: {}", path, std::strerror(e));
  }
  if (::stat(path.c_str(), &st) == 0) l.inode = st.st_ino;
  return l;
}

void remove_socket_file(const std::string& path, const UnixListener& listener) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == listener.inode)
    ::unlink(path.c_str());
}

}  // namespace vessel::api
