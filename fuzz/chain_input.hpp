// The fuzz targets' guest memory: a descriptor chain built from the fuzzer's input, one
// buffer at a time. Per buffer one tag byte (bit 7: device-writable; bits 0-5: length, times
// `scale` when bit 6 is set), then up to that many bytes of content (zeros past the input's
// end). As in a queue, readable buffers after the first writable one are dropped; handlers
// must still cope with every length and split. At most 64 buffers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

#include "devices/virtio/descriptor_chain.hpp"

namespace vessel::fuzz {

struct ChainInput {
  // The buffers the chain's spans point into: each inner vector's bytes stay where they are
  // when `storage` grows or the ChainInput moves.
  std::vector<std::vector<uint8_t>> storage;
  devices::virtio::DescriptorChain chain;
  size_t end = 0;  // input offset after the chain (after `stop_tag` when it was found)
};

// Reads buffers from data[at...] until the input ends, 64 buffers, or a tag equal to
// `stop_tag`.
inline ChainInput read_chain(const uint8_t* data, size_t size, size_t at, size_t scale,
                             std::optional<uint8_t> stop_tag = std::nullopt) {
  ChainInput in;
  while (at < size && in.storage.size() < 64) {
    const uint8_t tag = data[at++];
    if (stop_tag && tag == *stop_tag) break;
    size_t len = tag & 0x3f;
    if (tag & 0x40) len *= scale;
    std::vector<uint8_t> buf(len);
    const size_t n = std::min(len, size - at);
    if (n > 0) std::memcpy(buf.data(), data + at, n);
    at += n;
    auto& b = in.storage.emplace_back(std::move(buf));
    if (tag & 0x80) {
      in.chain.writable.push_back(b);
      in.chain.writable_bytes += b.size();
    } else if (in.chain.writable.empty()) {
      in.chain.readable.push_back(b);
      in.chain.readable_bytes += b.size();
    }
  }
  in.end = at;
  return in;
}

}  // namespace vessel::fuzz
