#include "devices/virtio/virtio_core.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "devices/virtio/virtio_spec.hpp"

namespace vessel::devices::virtio {
namespace {

// Kinds of driver mistakes, each logged once per device.
enum Warn : unsigned {
  kWarnFeatures,
  kWarnStatus,
  kWarnQueueConfig,
  kWarnQueueSize,
  kWarnQueueEnable,
  kWarnNotify,
  kWarnBroken,
};

constexpr uint64_t kCoreFeatures = feature_bit(kFeatureVersion1) |
                                   feature_bit(kFeatureIndirectDesc) |
                                   feature_bit(kFeatureEventIdx);

}  // namespace

VirtioCore::VirtioCore(std::shared_ptr<VirtioDevice> device, const memory::GuestMemory& memory)
    : device_(std::move(device)),
      memory_(memory),
      offered_(device_->device_features() | kCoreFeatures) {
  const uint16_t max = std::clamp<uint16_t>(device_->queue_max_size(), 1, kMaxQueueSize);
  for (uint16_t i = 0; i < device_->queue_count(); ++i) {
    queues_.push_back(Queue{Virtqueue(fmt::format("{} queue {}", device_->name(), i), max)});
    queues_.back().config.size = max;
  }
  // Host-side events come in as notifications: one lock, one path to the interrupt.
  device_->set_kick([this](uint16_t q) { notify(q); });
}

VirtioCore::~VirtioCore() {
  device_->set_kick({});
}

void VirtioCore::warn_once(unsigned kind, const std::string& what) {
  if (warned_ & (1u << kind)) return;
  warned_ |= 1u << kind;
  log::warn("virtio {}: {}", device_->name(), what);
}

uint32_t VirtioCore::device_features(uint32_t select) const {
  return select < 2 ? static_cast<uint32_t>(offered_ >> (32 * select)) : 0;
}

uint32_t VirtioCore::driver_features(uint32_t select) const {
  std::lock_guard lock(mutex_);
  return select < 2 ? static_cast<uint32_t>(driver_features_ >> (32 * select)) : 0;
}

void VirtioCore::set_driver_features(uint32_t select, uint32_t value) {
  std::lock_guard lock(mutex_);
  if (select >= 2) return;
  if (status_ & kStatusFeaturesOk) {
    warn_once(kWarnFeatures, "driver features written after FEATURES_OK: ignored");
    return;
  }
  const unsigned shift = 32 * select;
  driver_features_ =
      (driver_features_ & ~(uint64_t{0xffff'ffff} << shift)) | (uint64_t{value} << shift);
}

uint8_t VirtioCore::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

uint8_t VirtioCore::config_generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void VirtioCore::set_status(uint8_t value) {
  std::lock_guard lock(mutex_);
  if (value == 0) return reset_locked();
  uint8_t next = value;
  if ((next & kStatusFeaturesOk) && !(status_ & kStatusFeaturesOk)) {
    const bool subset = (driver_features_ & ~offered_) == 0;
    const bool modern = driver_features_ & feature_bit(kFeatureVersion1);
    if (!subset || !modern) {
      // Leaving FEATURES_OK clear tells the driver the set is unusable (§2.2.2).
      warn_once(kWarnFeatures,
                fmt::format("features {:#x} refused (offered {:#x})", driver_features_, offered_));
      next &= ~kStatusFeaturesOk;
    }
  }
  if ((next & kStatusDriverOk) && !(next & kStatusFeaturesOk)) {
    warn_once(kWarnStatus, "DRIVER_OK without FEATURES_OK: ignored");
    next &= ~kStatusDriverOk;
  }
  // Bits only go away through a reset (§2.1: the driver must not clear them); NEEDS_RESET
  // belongs to the device.
  next |= status_ & (kStatusFeaturesOk | kStatusDriverOk | kStatusNeedsReset);
  const bool start = (next & kStatusDriverOk) && !(status_ & kStatusDriverOk);
  status_ = next;
  if (start) device_->activate(driver_features_);
}

void VirtioCore::reset_locked() {
  device_->reset();
  for (Queue& q : queues_) {
    q.vq.reset();
    q.config = QueueConfig{.size = q.vq.max_size()};
    q.enabled = false;
    q.vector = kNoVectorValue;
  }
  driver_features_ = 0;
  status_ = 0;
  config_vector_ = kNoVectorValue;
  if (isr_ != 0 && target_) target_->lower();
  isr_ = 0;
}

uint16_t VirtioCore::queue_max_size(uint16_t q) const {
  std::lock_guard lock(mutex_);
  return q < queues_.size() ? queues_[q].vq.max_size() : 0;
}

uint64_t VirtioCore::queue_field(uint16_t q, QueueField field) const {
  std::lock_guard lock(mutex_);
  if (q >= queues_.size()) return 0;
  const QueueConfig& c = queues_[q].config;
  switch (field) {
    case QueueField::kSize:
      return c.size;
    case QueueField::kDesc:
      return c.desc;
    case QueueField::kDriver:
      return c.driver;
    case QueueField::kDevice:
      return c.device;
  }
  return 0;
}

bool VirtioCore::queue_config_locked(uint16_t q) const {
  return q < queues_.size() && !queues_[q].enabled && !(status_ & kStatusDriverOk);
}

void VirtioCore::set_queue_field(uint16_t q, QueueField field, uint64_t value) {
  std::lock_guard lock(mutex_);
  if (!queue_config_locked(q)) {
    warn_once(kWarnQueueConfig,
              fmt::format("queue {} configuration written while live or absent: ignored", q));
    return;
  }
  QueueConfig& c = queues_[q].config;
  switch (field) {
    case QueueField::kSize:
      if (value == 0 || value > queues_[q].vq.max_size() || (value & (value - 1))) {
        warn_once(kWarnQueueSize, fmt::format("queue {} size {} refused", q, value));
        return;
      }
      c.size = static_cast<uint16_t>(value);
      return;
    case QueueField::kDesc:
      c.desc = value;
      return;
    case QueueField::kDriver:
      c.driver = value;
      return;
    case QueueField::kDevice:
      c.device = value;
      return;
  }
}

bool VirtioCore::queue_enabled(uint16_t q) const {
  std::lock_guard lock(mutex_);
  return q < queues_.size() && queues_[q].enabled;
}

void VirtioCore::set_queue_enabled(uint16_t q, bool enabled) {
  std::lock_guard lock(mutex_);
  if (q >= queues_.size()) return;
  Queue& queue = queues_[q];
  if (!enabled || queue.enabled) {
    // PCI cannot disable a queue short of a reset (§4.1.4.3.2); virtio-mmio's QueueReady=0 is
    // accepted before DRIVER_OK only.
    if (!enabled && queue.enabled && !(status_ & kStatusDriverOk)) {
      queue.vq.reset();
      queue.enabled = false;
    }
    return;
  }
  if (status_ & kStatusDriverOk) {
    warn_once(kWarnQueueConfig, fmt::format("queue {} enabled after DRIVER_OK: ignored", q));
    return;
  }
  if (auto r = queue.vq.enable(memory_, queue.config, driver_features_); !r) {
    warn_once(kWarnQueueEnable, r.error().message);
    mark_needs_reset_locked();
    return;
  }
  queue.enabled = true;
}

uint16_t VirtioCore::queue_vector(uint16_t q) const {
  std::lock_guard lock(mutex_);
  return q < queues_.size() ? queues_[q].vector : kNoVectorValue;
}

void VirtioCore::set_queue_vector(uint16_t q, uint16_t vector) {
  std::lock_guard lock(mutex_);
  if (q < queues_.size()) queues_[q].vector = vector;
}

uint16_t VirtioCore::config_vector() const {
  std::lock_guard lock(mutex_);
  return config_vector_;
}

void VirtioCore::set_config_vector(uint16_t vector) {
  std::lock_guard lock(mutex_);
  config_vector_ = vector;
}

void VirtioCore::signal_locked(uint8_t bit, uint16_t vector) {
  isr_ |= bit;
  if (target_) target_->raise(vector, isr_);
}

void VirtioCore::mark_needs_reset_locked() {
  if (status_ & kStatusNeedsReset) return;
  status_ |= kStatusNeedsReset;
  ++generation_;
  signal_locked(kInterruptConfig, config_vector_);
}

void VirtioCore::notify(uint16_t q) {
  std::lock_guard lock(mutex_);
  if (q >= queues_.size()) {
    warn_once(kWarnNotify, fmt::format("notification for queue {}, which does not exist", q));
    return;
  }
  serve_locked(q);
}

void VirtioCore::process(uint16_t q) {
  std::lock_guard lock(mutex_);
  if (q < queues_.size()) serve_locked(q);
}

void VirtioCore::serve_locked(uint16_t q) {
  Queue& queue = queues_[q];
  if (!(status_ & kStatusDriverOk) || !queue.enabled || (status_ & kStatusNeedsReset)) return;
  device_->process_queue(q, queue.vq);
  if (queue.vq.needs_notification()) signal_locked(kInterruptQueue, queue.vector);
  if (queue.vq.broken()) {
    warn_once(kWarnBroken, fmt::format("queue {} broken by the driver", q));
    mark_needs_reset_locked();
  }
}

uint8_t VirtioCore::read_isr_and_clear() {
  std::lock_guard lock(mutex_);
  const uint8_t v = isr_;
  isr_ = 0;
  if (v != 0 && target_) target_->lower();
  return v;
}

uint8_t VirtioCore::isr() const {
  std::lock_guard lock(mutex_);
  return isr_;
}

void VirtioCore::acknowledge_isr(uint8_t bits) {
  std::lock_guard lock(mutex_);
  const bool was = isr_ != 0;
  isr_ &= ~bits;
  if (was && isr_ == 0 && target_) target_->lower();
}

void VirtioCore::read_config(uint32_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  std::fill(data.begin(), data.end(), 0);
  const uint32_t size = device_->config_size();
  if (offset >= size) return;
  const size_t n = std::min<size_t>(data.size(), size - offset);
  device_->read_config(offset, data.first(n));
}

void VirtioCore::write_config(uint32_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  const uint32_t size = device_->config_size();
  if (offset >= size || data.size() > size - offset) return;
  device_->write_config(offset, data);
}

bool VirtioCore::needs_reset() const {
  std::lock_guard lock(mutex_);
  return status_ & kStatusNeedsReset;
}

Result<void> VirtioCore::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(driver_features_, status_, isr_, generation_, config_vector_, uint64_t{queues_.size()});
  for (const Queue& q : queues_) {
    out(q.config, q.enabled, q.vector);
    q.vq.save_state(out);
  }
  return device_->save_state(out);
}

Result<void> VirtioCore::load_state(bus::StateReader& in) {
  std::lock_guard lock(mutex_);
  uint64_t queue_count = 0;
  in(driver_features_, status_, isr_, generation_, config_vector_, queue_count);
  if (queue_count != queues_.size())
    in.fail_with(fmt::format("{} queues saved, the device has {}", queue_count, queues_.size()));
  if ((driver_features_ & ~offered_) != 0) in.fail_with("features the device does not offer");
  if (!in.ok()) return fail("virtio-{}: {}", device_->name(), in.finish().error().message);
  for (Queue& q : queues_) {
    in(q.config, q.enabled, q.vector);
    if (!in.ok()) break;
    if (auto r = q.vq.load_state(in, memory_, q.config, driver_features_); !r)
      return fail("virtio-{}: {}", device_->name(), r.error().message);
  }
  if (!in.ok()) return fail("virtio-{}: {}", device_->name(), in.finish().error().message);
  return device_->load_state(in);
}

}  // namespace vessel::devices::virtio
