#include "devices/legacy/test_device.hpp"

namespace vessel::devices {

void TestDevice::read(uint64_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t at = offset + i;
    data[i] = (offset < kTestDeviceSize && at < kTestDeviceSize) ? buffer_[at] : 0xff;
  }
}

void TestDevice::write(uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t at = offset + i;
    if (offset < kTestDeviceSize && at < kTestDeviceSize) buffer_[at] = data[i];
  }
}

Result<void> TestDevice::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(buffer_);
  return {};
}

Result<void> TestDevice::load_state(bus::StateReader& in) {
  std::lock_guard lock(mutex_);
  in(buffer_);
  return in.finish();
}

}  // namespace vessel::devices
