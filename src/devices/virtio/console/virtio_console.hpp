// VirtioConsole: the console device (virtio 1.2 §5.3) with its single port 0: receiveq (queue 0,
// host -> guest) and transmitq (queue 1, guest -> host). No feature bits (no MULTIPORT, SIZE or
// EMERG_WRITE), so no configuration space and no control queues; Linux names it hvc0.
//
// Output: each transmit chain's device-readable bytes go straight from guest RAM to the sink
// (the host console backend), synchronously on the notifying vCPU's thread, and the chain is
// returned only afterwards. Nothing is buffered, so a guest flooding output is slowed down to
// what the host takes and never grows our memory; nothing acknowledged is lost.
// Input: receive() (the console's input thread) keeps at most kInputBuffer bytes the driver has
// not taken yet and answers how many it accepted, so the caller holds back the rest
// (backends/console.hpp) and host input is back-pressured instead of dropped. The bytes go
// into receive chains as the driver posts them.
//
// Hostile chains: writable buffers in a transmit chain and readable ones in a receive chain are
// ignored (used length 0 for the former); a receive chain without writable room is returned
// empty; the virtqueue has already validated every address and length.
//
// Snapshots: the input taken but not yet delivered is saved (output is never buffered).
//
// Wiring: the transport's core must serve receiveq when input arrives, so the machine gives
// the device a wake-up: console->set_wake([t](uint16_t q) { t->core().process(q); }).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtio_spec.hpp"

namespace vessel::devices::virtio {

class VirtioConsole final : public VirtioDevice {
 public:
  using Sink = std::function<void(std::span<const uint8_t>)>;
  using Wake = std::function<void(uint16_t queue)>;

  static constexpr uint16_t kReceiveQueue = 0;
  static constexpr uint16_t kTransmitQueue = 1;
  static constexpr uint16_t kQueueSize = 128;
  static constexpr size_t kInputBuffer = 4096;

  explicit VirtioConsole(Sink sink) : sink_(std::move(sink)) {}

  // Set once, before input starts; called with no lock of ours held.
  void set_wake(Wake wake) { wake_ = std::move(wake); }

  std::string_view name() const override { return "console"; }
  uint16_t device_type() const override { return kDeviceIdConsole; }
  uint64_t device_features() const override { return 0; }
  uint16_t queue_count() const override { return 2; }
  uint16_t queue_max_size() const override { return kQueueSize; }
  uint32_t config_size() const override { return 0; }
  void read_config(uint32_t, std::span<uint8_t>) override {}
  void process_queue(uint16_t index, Virtqueue& queue) override;
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;

  // Host -> guest bytes; returns how many were taken (the caller offers the rest again).
  size_t receive(std::span<const uint8_t> bytes);
  // Input taken but not yet delivered to the guest.
  size_t pending_input() const;

 private:
  void transmit(Virtqueue& queue);
  void deliver_input(Virtqueue& queue);

  Sink sink_;
  Wake wake_;
  mutable std::mutex input_mutex_;  // pending_; taken inside the core's lock, never around it
  std::vector<uint8_t> pending_;
  DescriptorChain chain_;  // reused storage (the core's lock serialises process_queue)
};

}  // namespace vessel::devices::virtio
