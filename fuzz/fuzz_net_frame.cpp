// Fuzzes the virtio-net request parsers (net_frame.hpp): the input is a chain as in
// fuzz_blk_request (per buffer one tag byte, bit 7 device-writable, bits 0-5 length, bit 6
// times 64, then its bytes), read as a TX request, then filled as an RX buffer with a frame
// made of the remaining input. Checks: a TX frame is within its bounds and the bytes after the
// header; an RX fill writes the whole frame or nothing, never beyond the chain.
#include <cstdint>
#include <cstring>
#include <vector>

#include "backends/net/net_backend.hpp"
#include "devices/virtio/net/net_frame.hpp"

using namespace vessel::devices::virtio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::vector<uint8_t>> storage;
  storage.reserve(64);
  DescriptorChain chain;
  size_t at = 0;
  while (at < size && storage.size() < 64) {
    const uint8_t tag = data[at++];
    if (tag == 0xff) break;  // the rest is the RX frame
    size_t len = tag & 0x3f;
    if (tag & 0x40) len *= 64;
    std::vector<uint8_t> buf(len);
    const size_t n = std::min(len, size - at);
    if (n > 0) std::memcpy(buf.data(), data + at, n);
    at += n;
    storage.push_back(std::move(buf));
    auto& b = storage.back();
    if (tag & 0x80) {
      chain.writable.push_back(b);
      chain.writable_bytes += b.size();
    } else if (chain.writable.empty()) {
      chain.readable.push_back(b);
      chain.readable_bytes += b.size();
    }
  }
  std::vector<uint8_t> frame;
  const TxVerdict v = read_tx_frame(chain, vessel::backends::net::kMaxFrameSize, frame);
  if (v == TxVerdict::kOk) {
    if (frame.size() < 14 || frame.size() > vessel::backends::net::kMaxFrameSize) __builtin_trap();
    if (frame.size() + kNetHeaderSize != chain.readable_bytes) __builtin_trap();
  } else if (!frame.empty()) {
    __builtin_trap();
  }
  const std::span<const uint8_t> rx(data + at, size - at);
  const uint32_t written = write_rx_frame(chain, rx);
  if (written != 0 && written != kNetHeaderSize + rx.size()) __builtin_trap();
  if (written > chain.writable_bytes) __builtin_trap();
  return 0;
}
