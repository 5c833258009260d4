// Port windows: legacy PC devices answer at several scattered port ranges (the PIC at 0x20,
// 0xa0 and 0x4d0; the PIT at 0x40 and 0x61; ...). Such a device is one bus::IoDevice addressed
// by *absolute* port number, and attach_ports() registers one small forwarding window per
// range, each adding its base back to the offset the bus gives it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "base/result.hpp"
#include "bus/bus.hpp"
#include "bus/io_device.hpp"

namespace vessel::devices {

struct PortRange {
  uint16_t base;
  uint16_t size;
};

class PortWindow final : public bus::IoDevice {
 public:
  PortWindow(std::shared_ptr<bus::IoDevice> device, uint16_t base)
      : device_(std::move(device)), base_(base) {}
  std::string_view name() const override { return device_->name(); }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    device_->read(base_ + offset, data);
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    device_->write(base_ + offset, data);
  }

 private:
  std::shared_ptr<bus::IoDevice> device_;
  uint16_t base_;
};

inline Result<void> attach_ports(bus::Bus& pio, std::shared_ptr<bus::IoDevice> device,
                                 std::span<const PortRange> ranges) {
  for (const auto& r : ranges) {
    if (auto ok = pio.add(r.base, r.size, std::make_shared<PortWindow>(device, r.base)); !ok) {
      return context(ok.error(), "attaching {} at port {:#x}", device->name(), r.base);
    }
  }
  return {};
}

}  // namespace vessel::devices
