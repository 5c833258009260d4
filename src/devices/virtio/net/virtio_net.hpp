// VirtioNet: the network card (virtio 1.2 §5.1): queue 0 receives, queue 1 transmits, no
// control queue and no offloads (net_frame.hpp has the wire format and what is dropped).
// Features: MAC (the configured address, in the configuration space) and STATUS (link up).
//
// Threads: TX runs on the vCPU that notified queue 1 and hands frames to the backend. RX frames
// come from the backend's own thread (receive()); they wait in a bounded list and the device
// kicks queue 0 (virtio_device.hpp), so they are copied into the guest's buffers under the
// core's lock, on that thread, or later when the driver adds buffers and notifies. A frame that
// finds the list full is dropped, as a full NIC ring drops: TCP retransmits.
//
// Snapshots: the MAC and the frames waiting for the guest are saved (the queues are the
// core's). The backend's state is not: libslirp's TCP connections, NAT table and DHCP lease
// and a tap's kernel side stay behind, so connections open at the snapshot are lost after a
// restore (as with Firecracker); the guest keeps its address and opens new ones.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include "backends/net/net_backend.hpp"
#include "base/result.hpp"
#include "devices/virtio/net/net_counters.hpp"
#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtio_spec.hpp"

namespace vessel::devices::virtio {

inline constexpr unsigned kNetFeatureMac = 5;
inline constexpr unsigned kNetFeatureStatus = 16;
inline constexpr uint16_t kNetStatusLinkUp = 1;

using MacAddress = std::array<uint8_t, 6>;

class VirtioNet final : public VirtioDevice {
 public:
  static constexpr uint16_t kRxQueue = 0;
  static constexpr uint16_t kTxQueue = 1;
  static constexpr size_t kMaxPendingFrames = 256;

  VirtioNet(std::unique_ptr<backends::net::NetBackend> backend, MacAddress mac);
  ~VirtioNet() override;

  // Starts the backend's thread, which delivers frames to receive().
  Result<void> start();

  std::string_view name() const override { return "net"; }
  uint16_t device_type() const override { return kDeviceIdNet; }
  uint64_t device_features() const override {
    return feature_bit(kNetFeatureMac) | feature_bit(kNetFeatureStatus);
  }
  uint16_t queue_count() const override { return 2; }
  uint32_t config_size() const override { return 10; }  // mac, status, max_virtqueue_pairs
  void read_config(uint32_t offset, std::span<uint8_t> data) override;
  void reset() override;
  void process_queue(uint16_t index, Virtqueue& queue) override;
  void set_kick(Kick kick) override;
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;

  // A frame for the guest (the backend's thread; tests call it directly).
  void receive(std::span<const uint8_t> frame);
  NetCounters counters() const;
  size_t pending_frames() const;

 private:
  void transmit(Virtqueue& queue);
  void fill_rx(Virtqueue& queue);
  void warn_once(unsigned kind, std::string_view what);

  std::unique_ptr<backends::net::NetBackend> backend_;
  MacAddress mac_;
  std::vector<uint8_t> tx_frame_;  // reused; under the core's lock

  mutable std::mutex kick_mutex_;  // held while kicking, so clearing waits for a kick in flight
  Kick kick_;

  mutable std::mutex rx_mutex_;
  std::deque<std::vector<uint8_t>> pending_;
  NetCounters counters_;  // under rx_mutex_
  std::atomic<uint32_t> warned_{0};
};

// Parses "aa:bb:cc:dd:ee:ff".
Result<MacAddress> parse_mac(std::string_view text);

}  // namespace vessel::devices::virtio
