// Fuzzes the split-virtqueue parser: the input is the guest's RAM (descriptor table, rings,
// indirect tables and all), preceded by the queue size and negotiated features. Every chain
// pop() accepts must lie inside guest RAM; the device-side loop must end.
#include <cstdint>
#include <cstring>

#include "devices/virtio/virtio_spec.hpp"
#include "devices/virtio/virtqueue.hpp"

using namespace vessel;
using namespace vessel::devices::virtio;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static memory::GuestMemory mem = *memory::GuestMemory::create(64 * 1024);
  auto ram = *mem.span(0, 64 * 1024);
  std::memset(ram.data(), 0, ram.size());
  std::memcpy(ram.data(), data + 2, std::min(size - 2, ram.size()));

  const uint16_t qsize = static_cast<uint16_t>(1u << (data[0] % 9));  // 1..256
  uint64_t features = feature_bit(kFeatureVersion1);
  if (data[1] & 1) features |= feature_bit(kFeatureIndirectDesc);
  if (data[1] & 2) features |= feature_bit(kFeatureEventIdx);
  // Rings where a driver would put them for this size (table, avail, used), inside the input.
  const QueueConfig config{qsize, 0, 16u * qsize, (16u * qsize + 6 + 2u * qsize + 3) & ~3u};
  Virtqueue vq("fuzz", 256);
  if (!vq.enable(mem, config, features)) return 0;
  DescriptorChain chain;
  for (int i = 0; i < 1024; ++i) {
    const auto r = vq.pop(chain);
    if (r != Virtqueue::Pop::kChain) break;
    const uint8_t* lo = ram.data();
    const uint8_t* hi = ram.data() + ram.size();
    for (auto b : chain.readable)
      if (b.data() < lo || b.data() + b.size() > hi) __builtin_trap();
    for (auto b : chain.writable)
      if (b.data() < lo || b.data() + b.size() > hi) __builtin_trap();
    // Touch every byte (ASan checks the spans for real).
    for (auto b : chain.writable) std::memset(b.data(), 0xa5, b.size());
    vq.push_used(chain.head, static_cast<uint32_t>(chain.writable_bytes));
    (void)vq.needs_notification();
  }
  return 0;
}
