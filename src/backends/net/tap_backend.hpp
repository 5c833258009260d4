// TapBackend: a Linux tap interface (/dev/net/tun, IFF_TAP | IFF_NO_PI): frames the guest sends
// are written to the tap, frames the host routes to the tap are read by the backend's thread.
// Opening needs CAP_NET_ADMIN, or a tap created beforehand for this user
// (`ip tuntap add NAME mode tap user USER`); the error says so.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "backends/net/net_backend.hpp"
#include "base/unique_fd.hpp"

namespace vessel::backends::net {

class TapBackend final : public NetBackend {
 public:
  static Result<std::unique_ptr<TapBackend>> open(const std::string& ifname);
  ~TapBackend() override;

  std::string_view name() const override { return "tap"; }
  Result<void> start(Receiver receiver) override;
  void send(std::span<const uint8_t> frame) override;
  void stop() override;

  uint64_t dropped_frames() const { return dropped_.load(); }

 private:
  TapBackend(UniqueFd tap, UniqueFd wake, std::string ifname);
  void run(Receiver receiver);

  UniqueFd tap_;
  UniqueFd wake_;  // eventfd: stop()
  std::string ifname_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace vessel::backends::net
