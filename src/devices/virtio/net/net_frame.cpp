#include "devices/virtio/net/net_frame.hpp"

#include <array>

namespace vessel::devices::virtio {
namespace {

constexpr size_t kEthernetHeader = 14;
constexpr size_t kFlagsOffset = 0;
constexpr size_t kGsoTypeOffset = 1;
constexpr size_t kNumBuffersOffset = 10;

}  // namespace

std::string_view to_string(TxVerdict verdict) {
  switch (verdict) {
    case TxVerdict::kOk:
      return "ok";
    case TxVerdict::kShortHeader:
      return "shorter than the virtio-net header";
    case TxVerdict::kOffload:
      return "asks for an offload that was not offered";
    case TxVerdict::kTooSmall:
      return "frame shorter than an ethernet header";
    case TxVerdict::kTooBig:
      return "frame larger than the MTU allows";
  }
  return "?";
}

TxVerdict read_tx_frame(const DescriptorChain& chain, size_t max_frame,
                        std::vector<uint8_t>& frame) {
  frame.clear();
  ChainReader reader(chain.readable);
  std::array<uint8_t, kNetHeaderSize> header{};
  if (!reader.read(header)) return TxVerdict::kShortHeader;
  if (header[kGsoTypeOffset] != kNetHdrGsoNone || (header[kFlagsOffset] & kNetHdrFlagNeedsCsum))
    return TxVerdict::kOffload;
  // The length comes from the validated chain, never from the header.
  const uint64_t length = reader.remaining();
  if (length < kEthernetHeader) return TxVerdict::kTooSmall;
  if (length > max_frame) return TxVerdict::kTooBig;
  frame.resize(length);
  if (!reader.read(frame)) return TxVerdict::kTooSmall;  // cannot happen: remaining() said so
  return TxVerdict::kOk;
}

uint32_t write_rx_frame(const DescriptorChain& chain, std::span<const uint8_t> frame) {
  if (chain.writable_bytes < kNetHeaderSize + uint64_t{frame.size()}) return 0;
  std::array<uint8_t, kNetHeaderSize> header{};
  header[kNumBuffersOffset] = 1;  // little-endian 1
  ChainWriter writer(chain.writable);
  writer.write(header);
  writer.write(frame);
  return static_cast<uint32_t>(writer.written());
}

}  // namespace vessel::devices::virtio
