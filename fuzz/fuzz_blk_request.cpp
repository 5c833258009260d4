// Fuzzes the virtio-blk request parser and executor against an in-memory disk. The input is
// one byte of options (bit 0 read-only disk, bits 1-2 DISCARD and WRITE_ZEROES), then a chain
// (chain_input.hpp; bit 6 of a tag scales the length by 512, whole sectors); readable and writable
// buffers may come in any order here because handle_request must cope with whatever chain shape the
// queue accepted.
#include <cstdint>
#include <vector>

#include "chain_input.hpp"
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
  const auto in = vessel::fuzz::read_chain(data, size, 1, 512);  // room for whole sectors
  const DescriptorChain& chain = in.chain;
  const auto done = blk::handle_request(read_only ? ro_disk : disk, features, chain);
  if (done.written > chain.writable_bytes) __builtin_trap();
  if (read_only && ro_disk.bytes() != std::vector<uint8_t>(64 * 1024)) __builtin_trap();
  return 0;
}
