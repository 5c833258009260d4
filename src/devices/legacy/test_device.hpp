// TestDevice: an MMIO scratch buffer for test payloads, at the address and with the
// behaviour of the "pc-testdev-iomem" region of QEMU's pc-testdev (hw/misc/pc-testdev.c):
// 64 KiB at 0xff000000 that reads back whatever was written, at any width (1-8 bytes,
// little-endian). The same payload therefore runs under vessel and under
// `qemu-system-x86_64 -device pc-testdev`. It exists to exercise MMIO exits, not to store data;
// pc-testdev's port I/O registers (0xe0-0xeb, 0x2000) are not modelled.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "bus/device_state.hpp"
#include "bus/io_device.hpp"

namespace vessel::devices {

inline constexpr uint64_t kTestDeviceBase = 0xff000000;
inline constexpr uint64_t kTestDeviceSize = 0x10000;

class TestDevice final : public bus::IoDevice, public bus::Stateful {
 public:
  // Snapshots (bus/device_state.hpp).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  std::string_view name() const override { return "test-device"; }
  // Bytes outside the buffer (an access straddling its end) read as 0xff and are dropped on
  // write; the bus should never send them, but the offset comes from the guest.
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  mutable std::mutex mutex_;
  std::array<uint8_t, kTestDeviceSize> buffer_{};
};

}  // namespace vessel::devices
