#include "devices/virtio/mmio_transport.hpp"

#include <algorithm>

#include "devices/virtio/virtio_spec.hpp"

namespace vessel::devices::virtio {
namespace {

// Register offsets (§4.2.2, Table "MMIO Device Register Layout").
enum : uint64_t {
  kMagicValue = 0x000,
  kVersionReg = 0x004,
  kDeviceId = 0x008,
  kVendorId = 0x00c,
  kDeviceFeatures = 0x010,
  kDeviceFeaturesSel = 0x014,
  kDriverFeatures = 0x020,
  kDriverFeaturesSel = 0x024,
  kQueueSel = 0x030,
  kQueueNumMax = 0x034,
  kQueueNum = 0x038,
  kQueueReady = 0x044,
  kQueueNotify = 0x050,
  kInterruptStatus = 0x060,
  kInterruptAck = 0x064,
  kStatus = 0x070,
  kQueueDescLow = 0x080,
  kQueueDescHigh = 0x084,
  kQueueDriverLow = 0x090,
  kQueueDriverHigh = 0x094,
  kQueueDeviceLow = 0x0a0,
  kQueueDeviceHigh = 0x0a4,
  kShmLenLow = 0x0b0,
  kShmLenHigh = 0x0b4,
  kShmBaseLow = 0x0b8,
  kShmBaseHigh = 0x0bc,
  kConfigGeneration = 0x0fc,
  kConfig = 0x100,
};

}  // namespace

VirtioMmio::VirtioMmio(std::shared_ptr<VirtioDevice> device, const memory::GuestMemory& memory,
                       bus::IrqLine irq)
    : core_(device, memory), name_(fmt::format("virtio-mmio-{}", device->name())), irq_(irq) {
  core_.set_interrupt_target(this);
}

void VirtioMmio::raise(uint16_t, uint8_t isr) {
  // A fresh rising edge for every interrupt: an edge-triggered pin (a legacy IRQ announced on
  // the command line keeps the ISA default) would otherwise miss one raised while the line
  // was still high; a level-triggered pin just sees the line stay asserted.
  if (isr == 0) return;
  irq_.set_level(false);
  irq_.set_level(true);
}
void VirtioMmio::lower() {
  irq_.set_level(false);
}

uint32_t VirtioMmio::read_register(uint64_t offset) {
  std::lock_guard lock(mutex_);
  const uint16_t q = queue_select_;
  switch (offset) {
    case kMagicValue:
      return kMagic;
    case kVersionReg:
      return kVersion;
    case kDeviceId:
      return core_.device().device_type();
    case kVendorId:
      return kVendor;
    case kDeviceFeatures:
      return core_.device_features(device_feature_select_);
    case kQueueNumMax:
      return core_.queue_max_size(q);
    case kQueueReady:
      return core_.queue_enabled(q);
    case kInterruptStatus:
      return core_.isr();
    case kStatus:
      return core_.status();
    case kQueueDescLow:
      return static_cast<uint32_t>(core_.queue_field(q, QueueField::kDesc));
    case kQueueDescHigh:
      return core_.queue_field(q, QueueField::kDesc) >> 32;
    case kQueueDriverLow:
      return static_cast<uint32_t>(core_.queue_field(q, QueueField::kDriver));
    case kQueueDriverHigh:
      return core_.queue_field(q, QueueField::kDriver) >> 32;
    case kQueueDeviceLow:
      return static_cast<uint32_t>(core_.queue_field(q, QueueField::kDevice));
    case kQueueDeviceHigh:
      return core_.queue_field(q, QueueField::kDevice) >> 32;
    case kShmLenLow:
    case kShmLenHigh:
      return 0xffff'ffff;  // no shared memory region
    case kConfigGeneration:
      return core_.config_generation();
    default:
      return 0;
  }
}

void VirtioMmio::write_half(QueueField field, bool high, uint32_t value) {
  uint64_t v = core_.queue_field(queue_select_, field);
  v = high ? (v & 0xffff'ffff) | (uint64_t{value} << 32) : (v & ~uint64_t{0xffff'ffff}) | value;
  core_.set_queue_field(queue_select_, field, v);
}

void VirtioMmio::write_register(uint64_t offset, uint32_t value) {
  std::lock_guard lock(mutex_);
  switch (offset) {
    case kDeviceFeaturesSel:
      device_feature_select_ = value;
      return;
    case kDriverFeatures:
      core_.set_driver_features(driver_feature_select_, value);
      return;
    case kDriverFeaturesSel:
      driver_feature_select_ = value;
      return;
    case kQueueSel:
      queue_select_ = static_cast<uint16_t>(std::min<uint32_t>(value, 0xffff));
      return;
    case kQueueNum:
      core_.set_queue_field(queue_select_, QueueField::kSize, value);
      return;
    case kQueueReady:
      core_.set_queue_enabled(queue_select_, value & 1);
      return;
    case kQueueNotify: {
      // The value is the queue index (no VIRTIO_F_NOTIFICATION_DATA); the core validates it.
      const uint16_t q = value > 0xffff ? 0xffff : static_cast<uint16_t>(value);
      mutex_.unlock();  // serving the queue may take a while; selects are not involved
      core_.notify(q);
      mutex_.lock();
      return;
    }
    case kInterruptAck:
      core_.acknowledge_isr(static_cast<uint8_t>(value));
      return;
    case kStatus:
      core_.set_status(static_cast<uint8_t>(value));
      return;
    case kQueueDescLow:
      return write_half(QueueField::kDesc, false, value);
    case kQueueDescHigh:
      return write_half(QueueField::kDesc, true, value);
    case kQueueDriverLow:
      return write_half(QueueField::kDriver, false, value);
    case kQueueDriverHigh:
      return write_half(QueueField::kDriver, true, value);
    case kQueueDeviceLow:
      return write_half(QueueField::kDevice, false, value);
    case kQueueDeviceHigh:
      return write_half(QueueField::kDevice, true, value);
    default:
      return;  // read-only or reserved
  }
}

void VirtioMmio::read(uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  if (offset >= kConfig) return core_.read_config(static_cast<uint32_t>(offset - kConfig), data);
  if (data.size() == 4 && offset % 4 == 0) bus::store_le(data, read_register(offset));
}

void VirtioMmio::write(uint64_t offset, std::span<const uint8_t> data) {
  if (offset >= kConfig) return core_.write_config(static_cast<uint32_t>(offset - kConfig), data);
  if (data.size() == 4 && offset % 4 == 0)
    write_register(offset, static_cast<uint32_t>(bus::load_le(data)));
}

Result<void> VirtioMmio::save_state(bus::StateWriter& out) const {
  {
    std::lock_guard lock(mutex_);
    out(device_feature_select_, driver_feature_select_, queue_select_);
  }
  return core_.save_state(out);
}

Result<void> VirtioMmio::load_state(bus::StateReader& in) {
  {
    std::lock_guard lock(mutex_);
    in(device_feature_select_, driver_feature_select_, queue_select_);
  }
  VESSEL_TRY_VOID(core_.load_state(in));
  return in.finish();
}

}  // namespace vessel::devices::virtio
