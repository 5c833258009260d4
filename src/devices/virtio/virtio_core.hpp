// VirtioCore: the transport-independent half of a virtio device (virtio 1.2 §2-§3): status and
// feature negotiation, the queues and their configuration, the interrupt status, and the
// dispatch of notifications to the VirtioDevice. The PCI and MMIO transports translate their
// registers into calls here, so every device works on both.
//
// Rules enforced for a hostile driver:
//  - FEATURES_OK sticks only if the driver accepted VERSION_1 and nothing that was not offered
//    (§3.1.1 step 5-6); driver features cannot change after FEATURES_OK; DRIVER_OK without
//    FEATURES_OK is refused;
//  - queue configuration writes are ignored once the queue is enabled or DRIVER_OK is set
//    (§4.1.4.3.2: the driver must not change them), bad sizes are ignored;
//  - notifications for queues that do not exist, or before DRIVER_OK, are ignored;
//  - a queue that breaks (virtqueue.hpp) sets DEVICE_NEEDS_RESET and sends a configuration
//    interrupt (§2.1.2). Each kind of problem is logged once per device.
// Writing status 0 resets everything (§2.4). Thread-safe: one mutex, held while the device
// serves a queue; interrupts go to the transport's InterruptTarget with it held.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::devices::virtio {

// How a transport raises an interrupt: `vector` is the MSI-X vector the driver chose for the
// source (PCI; kNoVector when none), `isr` the interrupt status after setting the new bit.
class InterruptTarget {
 public:
  virtual ~InterruptTarget() = default;
  virtual void raise(uint16_t vector, uint8_t isr) = 0;
  // The interrupt status went to 0 (read or acknowledged): drop a level-triggered line.
  virtual void lower() = 0;
};

enum class QueueField { kSize, kDesc, kDriver, kDevice };

class VirtioCore {
 public:
  VirtioCore(std::shared_ptr<VirtioDevice> device, const memory::GuestMemory& memory);
  ~VirtioCore();
  VirtioCore(const VirtioCore&) = delete;
  VirtioCore& operator=(const VirtioCore&) = delete;

  void set_interrupt_target(InterruptTarget* target) { target_ = target; }
  VirtioDevice& device() { return *device_; }
  uint16_t num_queues() const { return static_cast<uint16_t>(queues_.size()); }
  uint64_t offered_features() const { return offered_; }

  uint32_t device_features(uint32_t select) const;
  void set_driver_features(uint32_t select, uint32_t value);
  uint32_t driver_features(uint32_t select) const;
  uint8_t status() const;
  void set_status(uint8_t status);
  uint8_t config_generation() const;

  // Queue registers; `q` is the driver's queue select (an absent queue reads as 0).
  uint16_t queue_max_size(uint16_t q) const;
  uint64_t queue_field(uint16_t q, QueueField field) const;
  void set_queue_field(uint16_t q, QueueField field, uint64_t value);
  bool queue_enabled(uint16_t q) const;
  void set_queue_enabled(uint16_t q, bool enabled);
  uint16_t queue_vector(uint16_t q) const;
  void set_queue_vector(uint16_t q, uint16_t vector);
  uint16_t config_vector() const;
  void set_config_vector(uint16_t vector);

  // The driver notified queue `q`.
  void notify(uint16_t q);
  // The device has work for queue `q` that no notification announced (host input for a
  // receive queue): served as a notification would be, from any thread.
  void process(uint16_t q);

  // Interrupt status: PCI reads clear it (§4.1.4.5), MMIO acknowledges bits (§4.2.2).
  uint8_t read_isr_and_clear();
  uint8_t isr() const;
  void acknowledge_isr(uint8_t bits);

  void read_config(uint32_t offset, std::span<uint8_t> data);
  void write_config(uint32_t offset, std::span<const uint8_t> data);

  bool needs_reset() const;

  // Snapshots: features, status, interrupt status, every queue's configuration and
  // positions, then the device's own state.
  Result<void> save_state(bus::StateWriter& out) const;
  Result<void> load_state(bus::StateReader& in);

 private:
  struct Queue {
    Virtqueue vq;
    QueueConfig config;
    bool enabled = false;
    uint16_t vector = kNoVectorValue;
  };
  static constexpr uint16_t kNoVectorValue = 0xffff;

  void reset_locked();
  void warn_once(unsigned kind, const std::string& what);
  void signal_locked(uint8_t bit, uint16_t vector);
  void mark_needs_reset_locked();
  void serve_locked(uint16_t q);
  bool queue_config_locked(uint16_t q) const;

  std::shared_ptr<VirtioDevice> device_;
  const memory::GuestMemory& memory_;
  InterruptTarget* target_ = nullptr;
  uint64_t offered_;
  mutable std::mutex mutex_;
  std::vector<Queue> queues_;
  uint64_t driver_features_ = 0;
  uint8_t status_ = 0;
  uint8_t isr_ = 0;
  uint8_t generation_ = 0;
  uint16_t config_vector_ = kNoVectorValue;
  uint32_t warned_ = 0;  // one bit per kind of problem
};

}  // namespace vessel::devices::virtio
