// SlirpBackend: user-mode networking through libslirp, which needs no privileges: the guest
// sees a 10.0.2.0/24 network with a gateway at 10.0.2.2 (the host's own loopback is reachable
// there), DNS at 10.0.2.3, and gets 10.0.2.15 by DHCP, as in QEMU's `-netdev user`. Host ports
// forwarded to the guest are bound to 127.0.0.1 only.
//
// libslirp is not thread-safe: one thread owns the instance, its poll fds and its timers. That
// thread polls slirp's sockets and an eventfd; send() (vCPU threads) queues frames and writes
// the eventfd, and the thread feeds them to slirp_input.
#pragma once

#include <memory>
#include <vector>

#include "backends/net/net_backend.hpp"
#include "config/devices.hpp"

namespace vessel::backends::net {

class SlirpBackend final : public NetBackend {
 public:
  // Frames queued for slirp at most; more are dropped until the thread catches up.
  static constexpr size_t kMaxQueuedFrames = 512;

  // Creates the slirp instance and binds the forwarded ports now, so a busy port is an error
  // before the guest boots.
  static Result<std::unique_ptr<SlirpBackend>> create(
      const std::vector<config::HostForward>& forwards);
  ~SlirpBackend() override;

  std::string_view name() const override { return "user"; }
  Result<void> start(Receiver receiver) override;
  void send(std::span<const uint8_t> frame) override;
  void stop() override;

  uint64_t dropped_frames() const;

  struct State;  // libslirp's callbacks see it

 private:
  explicit SlirpBackend(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace vessel::backends::net
