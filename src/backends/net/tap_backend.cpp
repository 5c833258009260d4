#include "backends/net/tap_backend.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "base/log.hpp"

namespace vessel::backends::net {

TapBackend::TapBackend(UniqueFd tap, UniqueFd wake, std::string ifname)
    : tap_(std::move(tap)), wake_(std::move(wake)), ifname_(std::move(ifname)) {}

TapBackend::~TapBackend() {
  stop();
}

Result<std::unique_ptr<TapBackend>> TapBackend::open(const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ)
    return fail("tap '{}': not a valid interface name (1 to {} bytes)", ifname, IFNAMSIZ - 1);
  UniqueFd tap(::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!tap.valid())
    return fail("tap {}: cannot open /dev/net/tun: {}", ifname, std::strerror(errno));
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, ifname.data(), ifname.size());
  if (::ioctl(tap.get(), TUNSETIFF, &ifr) != 0) {
    const int err = errno;
    return fail("tap {}: cannot attach: {}{}", ifname, std::strerror(err),
                err == EPERM ? " (needs CAP_NET_ADMIN, or a tap made for this user: "
                               "ip tuntap add NAME mode tap user USER)"
                             : "");
  }
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake.valid()) return fail("tap {}: eventfd: {}", ifname, std::strerror(errno));
  return std::unique_ptr<TapBackend>(new TapBackend(std::move(tap), std::move(wake), ifname));
}

Result<void> TapBackend::start(Receiver receiver) {
  if (thread_.joinable()) return fail("tap {}: already started", ifname_);
  thread_ = std::thread([this, r = std::move(receiver)] { run(r); });
  return {};
}

void TapBackend::run(Receiver receiver) {
  // Room for anything the tap may hand us, so an oversize frame is read whole and dropped
  // rather than split.
  std::array<uint8_t, 65536> buf;
  while (!stopping_.load()) {
    pollfd fds[2] = {{tap_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::error("tap {}: poll: {}", ifname_, std::strerror(errno));
      return;
    }
    if (fds[1].revents & POLLIN) continue;  // stop() or a spurious wake: re-check
    if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
      log::error("tap {}: the interface went away", ifname_);
      return;
    }
    for (;;) {
      const ssize_t n = ::read(tap_.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
          log::warn("tap {}: read: {}", ifname_, std::strerror(errno));
        break;
      }
      if (static_cast<size_t>(n) < kMinFrameSize || static_cast<size_t>(n) > kMaxFrameSize) {
        dropped_.fetch_add(1);
        continue;
      }
      receiver({buf.data(), static_cast<size_t>(n)});
    }
  }
}

void TapBackend::send(std::span<const uint8_t> frame) {
  // Non-blocking: a full tap queue drops the frame, as a busy wire would.
  if (::write(tap_.get(), frame.data(), frame.size()) != static_cast<ssize_t>(frame.size()))
    dropped_.fetch_add(1);
}

void TapBackend::stop() {
  if (!thread_.joinable()) return;
  stopping_.store(true);
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
  thread_.join();
}

}  // namespace vessel::backends::net
