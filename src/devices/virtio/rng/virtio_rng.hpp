// VirtioRng: the entropy device (virtio 1.2 §5.4): one request queue whose chains are
// device-writable buffers the device fills from the host's getrandom(2). A chain asking for
// more than kMaxBytesPerRequest gets that many (the used length says so, §5.4.6.1 allows a
// partial fill), so a driver asking for gigabytes costs no allocation and little time.
// No configuration space, no feature bits.
#pragma once

#include <cstdint>

#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtio_spec.hpp"

namespace vessel::devices::virtio {

class VirtioRng final : public VirtioDevice {
 public:
  static constexpr uint64_t kMaxBytesPerRequest = 64 * 1024;

  std::string_view name() const override { return "rng"; }
  uint16_t device_type() const override { return kDeviceIdEntropy; }
  uint64_t device_features() const override { return 0; }
  uint16_t queue_count() const override { return 1; }
  uint32_t config_size() const override { return 0; }
  void read_config(uint32_t, std::span<uint8_t>) override {}
  void process_queue(uint16_t index, Virtqueue& queue) override;
  Result<void> save_state(bus::StateWriter&) const override { return {}; }  // stateless
  Result<void> load_state(bus::StateReader&) override { return {}; }

  // Fills one chain's writable buffers (capped); returns the bytes written.
  static uint32_t fill(const DescriptorChain& chain);
};

}  // namespace vessel::devices::virtio
