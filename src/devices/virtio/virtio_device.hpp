// VirtioDevice: what a virtio device type (block, entropy, ...) implements, independent of the
// transport (PCI or MMIO) that carries it. The transport-neutral core (virtio_core.hpp) owns
// the queues, negotiates features and calls these methods with its lock held, so a device needs
// no locking of its own for state touched only here.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>

#include "base/result.hpp"
#include "bus/device_state.hpp"

#include "devices/virtio/virtqueue.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::devices::virtio {

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual std::string_view name() const = 0;
  virtual uint16_t device_type() const = 0;  // §5: 2 block, 4 entropy, ...
  // Device-specific feature bits offered; the core adds VERSION_1, INDIRECT_DESC, EVENT_IDX.
  virtual uint64_t device_features() const = 0;
  virtual uint16_t queue_count() const = 0;
  virtual uint16_t queue_max_size() const { return 256; }
  // Device configuration space (§5.x.4); bytes beyond config_size() read as 0.
  virtual uint32_t config_size() const = 0;
  virtual void read_config(uint32_t offset, std::span<uint8_t> data) = 0;
  virtual void write_config(uint32_t, std::span<const uint8_t>) {}
  // The driver set DRIVER_OK with these negotiated features.
  virtual void activate(uint64_t) {}
  // The driver reset the device: back to the state before negotiation.
  virtual void reset() {}
  // The driver notified `queue`: serve its available chains (pop, push_used). The core
  // notifies the driver afterwards if the queue asks for it.
  virtual void process_queue(uint16_t index, Virtqueue& queue) = 0;
  // For devices whose backend makes work on its own (network frames arriving): kick(q) has
  // the core serve queue q as if the driver had notified it, under the core's lock and with
  // its interrupt handling, from any thread. The core installs it at construction and clears
  // it (an empty function) in its destructor; a device must not call it after that returns.
  using Kick = std::function<void(uint16_t queue)>;
  virtual void set_kick(Kick) {}
  // Snapshots: the device's own state beyond the transport's. A device that does not
  // override these cannot be saved, and snapshot creation fails naming it.
  virtual Result<void> save_state(bus::StateWriter&) const {
    return fail("virtio-{} does not support snapshots", name());
  }
  virtual Result<void> load_state(bus::StateReader&) {
    return fail("virtio-{} does not support snapshots", name());
  }
};

}  // namespace vessel::devices::virtio
