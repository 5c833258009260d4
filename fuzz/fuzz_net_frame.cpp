// Fuzzes the virtio-net request parsers (net_frame.hpp): the input is a chain
// (chain_input.hpp; bit 6 of a tag scales the length by 64) up to a tag 0xff, read as a TX request,
// then filled as an RX buffer with a frame made of the remaining input. Checks: a TX frame is
// within its bounds and the bytes after the header; an RX fill writes the whole frame or nothing,
// never beyond the chain.
#include <cstdint>
#include <vector>

#include "backends/net/net_backend.hpp"
#include "chain_input.hpp"
#include "devices/virtio/net/net_frame.hpp"

using namespace vessel::devices::virtio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Tag 0xff ends the chain: the rest is the RX frame.
  const auto in = vessel::fuzz::read_chain(data, size, 0, 64, 0xff);
  const DescriptorChain& chain = in.chain;
  std::vector<uint8_t> frame;
  const TxVerdict v = read_tx_frame(chain, vessel::backends::net::kMaxFrameSize, frame);
  if (v == TxVerdict::kOk) {
    if (frame.size() < 14 || frame.size() > vessel::backends::net::kMaxFrameSize) __builtin_trap();
    if (frame.size() + kNetHeaderSize != chain.readable_bytes) __builtin_trap();
  } else if (!frame.empty()) {
    __builtin_trap();
  }
  const std::span<const uint8_t> rx(data + in.end, size - in.end);
  const uint32_t written = write_rx_frame(chain, rx);
  if (written != 0 && written != kNetHeaderSize + rx.size()) __builtin_trap();
  if (written > chain.writable_bytes) __builtin_trap();
  return 0;
}
