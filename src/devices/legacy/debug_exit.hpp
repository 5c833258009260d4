// Debug-exit port (the convention of QEMU's isa-debug-exit): a write of value v ends the VM
// with exit status (v << 1) | 1, so test payloads can report pass/fail through the exit code.
#pragma once

#include "bus/io_device.hpp"
#include "bus/vm_control.hpp"

namespace vessel::devices {

inline constexpr uint16_t kDebugExitPort = 0xf4;

class DebugExit final : public bus::IoDevice {
 public:
  explicit DebugExit(bus::VmControl& control) : control_(control) {}
  std::string_view name() const override { return "debug-exit"; }
  void read(uint64_t, std::span<uint8_t> data) override;
  void write(uint64_t, std::span<const uint8_t> data) override;

 private:
  bus::VmControl& control_;
};

}  // namespace vessel::devices
