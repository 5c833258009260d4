// Fuzzes the virtio-blk request parser and executor against an in-memory disk. The input is
// a list of buffers: per buffer one byte (bit 7: device-writable, bits 0-6: length / 2^k
// scaled), then its bytes; readable and writable buffers may come in any order here because
// handle_request must cope with whatever chain shape the queue accepted.
#include <cstdint>
#include <cstring>
#include <vector>

#include "devices/virtio/blk/blk_request.hpp"
#include "devices/virtio/blk/memory_backend.hpp"
#include "devices/virtio/virtio_spec.hpp"

using namespace vessel::devices::virtio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static MemoryBackend disk(64 * 1024);
  static MemoryBackend ro_disk(64 * 1024, true);
  const bool read_only = data[0] & 1;
  uint64_t features = 0;
  if (data[0] & 2) features |= feature_bit(blk::kFeatureDiscard);
  if (data[0] & 4) features |= feature_bit(blk::kFeatureWriteZeroes);
  std::vector<std::vector<uint8_t>> storage;
  DescriptorChain chain;
  size_t at = 1;
  while (at < size && storage.size() < 64) {
    const uint8_t tag = data[at++];
    size_t len = tag & 0x3f;
    if (tag & 0x40) len *= 512;  // room for whole sectors
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
  const auto done = blk::handle_request(read_only ? ro_disk : disk, features, chain);
  if (done.written > chain.writable_bytes) __builtin_trap();
  if (read_only && ro_disk.bytes() != std::vector<uint8_t>(64 * 1024)) __builtin_trap();
  return 0;
}
