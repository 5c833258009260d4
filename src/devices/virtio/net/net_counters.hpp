// NetCounters: one virtio-net card's figures (Firecracker's "net" metrics). A plain struct,
// so the machine can sum the cards with += without knowing the device.
#pragma once

#include <cstdint>

namespace vessel::devices::virtio {

struct NetCounters {
  uint64_t tx_frames = 0;
  uint64_t tx_bytes = 0;    // frames handed to the backend (Ethernet header on, virtio's off)
  uint64_t tx_dropped = 0;  // malformed or oversize chains
  uint64_t rx_frames = 0;
  uint64_t rx_bytes = 0;    // frames put into the guest's buffers
  uint64_t rx_dropped = 0;  // waiting list full
  uint64_t rx_too_big = 0;  // the guest's buffer could not hold the frame

  NetCounters& operator+=(const NetCounters& o) {
    tx_frames += o.tx_frames;
    tx_bytes += o.tx_bytes;
    tx_dropped += o.tx_dropped;
    rx_frames += o.rx_frames;
    rx_bytes += o.rx_bytes;
    rx_dropped += o.rx_dropped;
    rx_too_big += o.rx_too_big;
    return *this;
  }
};

}  // namespace vessel::devices::virtio
