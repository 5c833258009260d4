// Fuzzes the virtio-blk device end to end: the input is the guest's RAM (rings, descriptor and
// indirect tables, request headers and data), preceded by the queue size, the negotiated
// features and whether the disk is read-only. The device serves a few notifications over an
// in-memory disk through its batch path (prepare, run_batch, finish); it must never touch
// memory outside guest RAM, never change a read-only disk, and always return.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "base/log.hpp"
#include "devices/virtio/blk/blk_request.hpp"
#include "devices/virtio/blk/memory_backend.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/virtio_spec.hpp"
#include "devices/virtio/virtqueue.hpp"

using namespace vessel;
using namespace vessel::devices::virtio;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  log::set_level(log::Level::kError);  // each input makes a new device: warnings would flood
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  constexpr uint64_t kRam = 64 * 1024;
  constexpr uint64_t kDisk = 32 * 1024;
  static memory::GuestMemory mem = *memory::GuestMemory::create(kRam);
  auto ram = *mem.span(0, kRam);
  std::memset(ram.data(), 0, ram.size());
  std::memcpy(ram.data(), data + 3, std::min<size_t>(size - 3, ram.size()));

  const uint16_t qsize = static_cast<uint16_t>(1u << (data[0] % 9));  // 1..256
  uint64_t features = feature_bit(kFeatureVersion1);
  if (data[1] & 1) features |= feature_bit(kFeatureIndirectDesc);
  if (data[1] & 2) features |= feature_bit(kFeatureEventIdx);
  if (data[1] & 4) features |= feature_bit(blk::kFeatureDiscard);
  if (data[1] & 8) features |= feature_bit(blk::kFeatureWriteZeroes);
  const bool read_only = data[2] & 1;
  const QueueConfig config{qsize, 0, 16u * qsize, (16u * qsize + 6 + 2u * qsize + 3) & ~3u};
  Virtqueue vq("fuzz-blk", 256);
  if (!vq.enable(mem, config, features)) return 0;

  auto backend = std::make_unique<MemoryBackend>(kDisk, read_only);
  MemoryBackend& disk = *backend;
  VirtioBlk dev(std::move(backend));
  dev.activate(features);
  // A few notifications: the guest may have left more available than one pass takes.
  for (int i = 0; i < 4 && !vq.broken(); ++i) dev.process_queue(0, vq);
  if (disk.size() != kDisk) __builtin_trap();
  if (read_only && disk.bytes() != std::vector<uint8_t>(kDisk)) __builtin_trap();
  return 0;
}
