// Fuzzes the virtio-console device over hostile rings: the input is the guest's RAM holding the
// receive queue's rings in the first half and the transmit queue's in the second, preceded by
// the queue size, features and how much host input to offer. Every byte the device hands to
// the host must come from guest RAM; input it accepts never exceeds its buffer; both loops end.
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "devices/virtio/console/virtio_console.hpp"
#include "devices/virtio/virtio_spec.hpp"

using namespace vessel;
using namespace vessel::devices::virtio;

namespace {

constexpr uint64_t kRam = 64 * 1024;

QueueConfig rings_at(uint64_t base, uint16_t qsize) {
  const uint64_t avail = base + 16u * qsize;
  return {qsize, base, avail, (avail + 6 + 2u * qsize + 3) & ~uint64_t{3}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  static memory::GuestMemory mem = *memory::GuestMemory::create(kRam);
  auto ram = *mem.span(0, kRam);
  std::memset(ram.data(), 0, ram.size());
  std::memcpy(ram.data(), data + 3, std::min(size - 3, ram.size()));

  const uint16_t qsize = static_cast<uint16_t>(1u << (data[0] % 8));  // 1..128
  uint64_t features = feature_bit(kFeatureVersion1);
  if (data[1] & 1) features |= feature_bit(kFeatureIndirectDesc);
  if (data[1] & 2) features |= feature_bit(kFeatureEventIdx);
  Virtqueue rx("rx", VirtioConsole::kQueueSize), tx("tx", VirtioConsole::kQueueSize);
  if (!rx.enable(mem, rings_at(0, qsize), features)) return 0;
  if (!tx.enable(mem, rings_at(kRam / 2, qsize), features)) return 0;

  const uint8_t* lo = ram.data();
  const uint8_t* hi = ram.data() + ram.size();
  VirtioConsole console([&](std::span<const uint8_t> out) {
    if (out.data() < lo || out.data() + out.size() > hi) __builtin_trap();
  });
  console.set_wake([&](uint16_t q) { console.process_queue(q, q == 0 ? rx : tx); });
  console.process_queue(VirtioConsole::kTransmitQueue, tx);
  const size_t offered = size_t{data[2]} * 64;  // up to 16 KiB of host input
  static const std::vector<uint8_t> input(255 * 64, 'i');
  const size_t taken = console.receive(std::span(input).first(offered));
  if (taken > VirtioConsole::kInputBuffer || console.pending_input() > taken) __builtin_trap();
  console.process_queue(VirtioConsole::kReceiveQueue, rx);
  return 0;
}
