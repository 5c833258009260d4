#include "devices/virtio/pci_transport.hpp"

#include <algorithm>
#include <cstring>

#include "base/log.hpp"
#include "devices/virtio/virtio_spec.hpp"

namespace vessel::devices::virtio {
namespace {

// virtio_pci_cap cfg_type values (§4.1.4).
constexpr uint8_t kCapCommon = 1;
constexpr uint8_t kCapNotify = 2;
constexpr uint8_t kCapIsr = 3;
constexpr uint8_t kCapDevice = 4;

constexpr uint16_t kVendor = 0x1af4;

// PCI class codes per device type (PCI Code and ID Assignment Spec), as drivers expect them.
uint32_t class_code(uint16_t type) {
  switch (type) {
    case kDeviceIdNet:
      return 0x020000;  // network controller
    case kDeviceIdBlock:
      return 0x018000;  // mass storage, other
    case kDeviceIdConsole:
      return 0x078000;  // communication, other
    default:
      return 0xff0000;  // unassigned class
  }
}

// Common configuration layout (§4.1.4.3).
enum : uint64_t {
  kDeviceFeatureSelect = 0x00,
  kDeviceFeature = 0x04,
  kDriverFeatureSelect = 0x08,
  kDriverFeature = 0x0c,
  kConfigMsixVector = 0x10,
  kNumQueues = 0x12,
  kDeviceStatus = 0x14,
  kConfigGeneration = 0x15,
  kQueueSelect = 0x16,
  kQueueSize = 0x18,
  kQueueMsixVector = 0x1a,
  kQueueEnable = 0x1c,
  kQueueNotifyOff = 0x1e,
  kQueueDesc = 0x20,
  kQueueDriver = 0x28,
  kQueueDevice = 0x30,
};

}  // namespace

VirtioPci::VirtioPci(std::shared_ptr<VirtioDevice> device, const memory::GuestMemory& memory)
    : pci::PciDevice(pci::PciIdentity{
          .vendor_id = kVendor,
          .device_id = static_cast<uint16_t>(0x1040 + device->device_type()),
          .revision = 1,  // §4.1.2.1: non-transitional devices have revision 1 or more
          .class_code = class_code(device->device_type()),
          .subsystem_vendor_id = kVendor,
          .subsystem_id = 0x1100}),
      core_(device, memory),
      name_(fmt::format("virtio-pci-{}", device->name())),
      msix_vectors_(static_cast<uint16_t>(std::min<unsigned>(device->queue_count() + 1, 256))) {
  add_bar(0, kBarSize, true);
  add_msix(msix_vectors_, 0, kMsixTableOffset, kMsixPbaOffset);
  add_virtio_capabilities();
  core_.set_interrupt_target(this);
}

void VirtioPci::add_virtio_capabilities() {
  auto cap = [this](uint8_t type, uint32_t offset, uint32_t length, bool notify) {
    uint8_t body[20] = {pci::kCapVendor, 0, static_cast<uint8_t>(notify ? 20 : 16), type, 0};
    std::memcpy(&body[8], &offset, 4);
    std::memcpy(&body[12], &length, 4);
    std::memcpy(&body[16], &kNotifyMultiplier, 4);
    add_capability(std::span(body, notify ? 20 : 16));
  };
  cap(kCapCommon, kCommonOffset, 0x38, false);
  cap(kCapIsr, kIsrOffset, 1, false);
  cap(kCapDevice, kDeviceConfigOffset, std::max<uint32_t>(core_.device().config_size(), 4), false);
  cap(kCapNotify, kNotifyOffset, std::max<uint32_t>(core_.num_queues(), 1) * kNotifyMultiplier,
      true);
}

void VirtioPci::raise(uint16_t vector, uint8_t isr) {
  if (msix()->enabled()) {
    if (vector != kNoVector) msix()->notify(vector);
    return;
  }
  set_intx(isr != 0);
}

void VirtioPci::lower() {
  set_intx(false);
}

uint16_t VirtioPci::checked_vector(uint16_t vector) {
  if (vector == kNoVector || vector < msix_vectors_) return vector;
  if (!warned_vector_) {
    warned_vector_ = true;
    log::warn("{}: MSI-X vector {} beyond the {}-entry table: NO_VECTOR", name_, vector,
              msix_vectors_);
  }
  return kNoVector;
}

uint64_t VirtioPci::common_read(uint64_t offset, size_t size) {
  std::lock_guard lock(mutex_);
  const uint16_t q = queue_select_;
  auto field64 = [&](uint64_t base, QueueField f) -> uint64_t {
    const uint64_t v = core_.queue_field(q, f);
    if (offset == base) return size == 8 ? v : static_cast<uint32_t>(v);
    return v >> 32;  // the high half, read as its own dword
  };
  switch (offset) {
    case kDeviceFeatureSelect:
      return device_feature_select_;
    case kDeviceFeature:
      return core_.device_features(device_feature_select_);
    case kDriverFeatureSelect:
      return driver_feature_select_;
    case kDriverFeature:
      return core_.driver_features(driver_feature_select_);
    case kConfigMsixVector:
      return core_.config_vector();
    case kNumQueues:
      return core_.num_queues();
    case kDeviceStatus:
      return core_.status();
    case kConfigGeneration:
      return core_.config_generation();
    case kQueueSelect:
      return q;
    case kQueueSize:
      return core_.queue_field(q, QueueField::kSize);
    case kQueueMsixVector:
      return core_.queue_vector(q);
    case kQueueEnable:
      return core_.queue_enabled(q);
    case kQueueNotifyOff:
      return q;
    case kQueueDesc:
    case kQueueDesc + 4:
      return field64(kQueueDesc, QueueField::kDesc);
    case kQueueDriver:
    case kQueueDriver + 4:
      return field64(kQueueDriver, QueueField::kDriver);
    case kQueueDevice:
    case kQueueDevice + 4:
      return field64(kQueueDevice, QueueField::kDevice);
    default:
      return 0;
  }
}

void VirtioPci::common_write(uint64_t offset, size_t size, uint64_t value) {
  std::lock_guard lock(mutex_);
  const uint16_t q = queue_select_;
  auto field64 = [&](uint64_t base, QueueField f) {
    uint64_t v = core_.queue_field(q, f);
    if (offset == base && size == 8)
      v = value;
    else if (offset == base)
      v = (v & ~uint64_t{0xffff'ffff}) | static_cast<uint32_t>(value);
    else
      v = (v & 0xffff'ffff) | (value << 32);
    core_.set_queue_field(q, f, v);
  };
  switch (offset) {
    case kDeviceFeatureSelect:
      device_feature_select_ = static_cast<uint32_t>(value);
      return;
    case kDriverFeatureSelect:
      driver_feature_select_ = static_cast<uint32_t>(value);
      return;
    case kDriverFeature:
      core_.set_driver_features(driver_feature_select_, static_cast<uint32_t>(value));
      return;
    case kConfigMsixVector:
      core_.set_config_vector(checked_vector(static_cast<uint16_t>(value)));
      return;
    case kDeviceStatus:
      core_.set_status(static_cast<uint8_t>(value));
      return;
    case kQueueSelect:
      queue_select_ = static_cast<uint16_t>(value);
      return;
    case kQueueSize:
      core_.set_queue_field(q, QueueField::kSize, value & 0xffff);
      return;
    case kQueueMsixVector:
      core_.set_queue_vector(q, checked_vector(static_cast<uint16_t>(value)));
      return;
    case kQueueEnable:
      core_.set_queue_enabled(q, value & 1);
      return;
    case kQueueDesc:
    case kQueueDesc + 4:
      return field64(kQueueDesc, QueueField::kDesc);
    case kQueueDriver:
    case kQueueDriver + 4:
      return field64(kQueueDriver, QueueField::kDriver);
    case kQueueDevice:
    case kQueueDevice + 4:
      return field64(kQueueDevice, QueueField::kDevice);
    default:
      return;  // read-only or reserved
  }
}

void VirtioPci::bar_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0);
  if (bar != 0) return;
  if (offset < kIsrOffset) return bus::store_le(data, common_read(offset, data.size()));
  if (offset == kIsrOffset) return bus::store_le(data, core_.read_isr_and_clear());
  if (offset >= kDeviceConfigOffset && offset < kNotifyOffset)
    return core_.read_config(static_cast<uint32_t>(offset - kDeviceConfigOffset), data);
}

void VirtioPci::bar_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data) {
  if (bar != 0) return;
  const uint64_t value = bus::load_le(data);
  if (offset < kIsrOffset) return common_write(offset, data.size(), value);
  if (offset >= kDeviceConfigOffset && offset < kNotifyOffset)
    return core_.write_config(static_cast<uint32_t>(offset - kDeviceConfigOffset), data);
  if (offset >= kNotifyOffset && offset < kMsixTableOffset)
    core_.notify(static_cast<uint16_t>((offset - kNotifyOffset) / kNotifyMultiplier));
}

Result<void> VirtioPci::save_function_state(bus::StateWriter& out) const {
  {
    std::lock_guard lock(mutex_);
    out(device_feature_select_, driver_feature_select_, queue_select_);
  }
  return core_.save_state(out);
}

Result<void> VirtioPci::load_function_state(bus::StateReader& in) {
  {
    std::lock_guard lock(mutex_);
    in(device_feature_select_, driver_feature_select_, queue_select_);
  }
  VESSEL_TRY_VOID(core_.load_state(in));
  return in.finish();
}

}  // namespace vessel::devices::virtio
