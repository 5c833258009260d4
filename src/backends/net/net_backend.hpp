// NetBackend: the host side of a virtual network card. The device hands it ethernet frames the
// guest sent (send(), from a vCPU thread) and it delivers frames for the guest to the Receiver
// on its own thread, so a slow or silent network never blocks a vCPU and the device is the one
// place that touches the guest's receive ring. Frames are whole ethernet frames without a
// virtio-net header (no offloads cross this interface).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "base/result.hpp"

namespace vessel::backends::net {

// Largest frame either direction carries: a 1500-byte MTU plus the ethernet header and a VLAN
// tag. Larger frames are dropped (and counted) by whoever meets them.
inline constexpr size_t kMaxFrameSize = 1518;
inline constexpr size_t kMinFrameSize = 14;  // an ethernet header

class NetBackend {
 public:
  // Receives one frame for the guest; called on the backend's thread only.
  using Receiver = std::function<void(std::span<const uint8_t> frame)>;

  virtual ~NetBackend() = default;
  virtual std::string_view name() const = 0;
  // Starts the backend's thread. Called once; frames arriving earlier are not kept.
  virtual Result<void> start(Receiver receiver) = 0;
  // Guest -> network, from any thread. A frame the backend cannot take now is dropped (the
  // guest's TCP retransmits), never waited for.
  virtual void send(std::span<const uint8_t> frame) = 0;
  // Stops and joins the thread; the Receiver is not called after this returns. Idempotent,
  // also done by the destructors.
  virtual void stop() = 0;
};

}  // namespace vessel::backends::net
