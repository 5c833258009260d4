// Port 0x80, the POST-code port. Firmware writes progress codes there and Linux writes to it
// as an I/O delay (outb_p); nothing listens. The last code is kept for debugging; reads return
// all-ones as on a PC without a POST card.
//
// Wiring: buses.pio.add(Port80::kPort, 1, std::make_shared<Port80>());
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "bus/io_device.hpp"

namespace vessel::devices {

class Port80 final : public bus::IoDevice {
 public:
  static constexpr uint16_t kPort = 0x80;

  std::string_view name() const override { return "post-code"; }
  void read(uint64_t, std::span<uint8_t> data) override {
    std::fill(data.begin(), data.end(), 0xff);
  }
  void write(uint64_t, std::span<const uint8_t> data) override {
    if (!data.empty()) last_.store(data[0], std::memory_order_relaxed);
  }
  uint8_t last_code() const { return last_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint8_t> last_{0};
};

}  // namespace vessel::devices
