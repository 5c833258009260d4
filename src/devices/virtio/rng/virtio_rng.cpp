#include "devices/virtio/rng/virtio_rng.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>

namespace vessel::devices::virtio {

uint32_t VirtioRng::fill(const DescriptorChain& chain) {
  uint64_t budget = kMaxBytesPerRequest, written = 0;
  for (std::span<uint8_t> buf : chain.writable) {
    if (budget == 0) break;
    std::span<uint8_t> part = buf.first(std::min<uint64_t>(buf.size(), budget));
    while (!part.empty()) {
      const ssize_t n = getrandom(part.data(), part.size(), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return static_cast<uint32_t>(written);  // host entropy failed: partial fill
      part = part.subspan(static_cast<size_t>(n));
      written += static_cast<uint64_t>(n);
      budget -= static_cast<uint64_t>(n);
    }
  }
  return static_cast<uint32_t>(written);
}

void VirtioRng::process_queue(uint16_t, Virtqueue& queue) {
  DescriptorChain chain;
  while (queue.pop(chain) == Virtqueue::Pop::kChain) queue.push_used(chain.head, fill(chain));
}

}  // namespace vessel::devices::virtio
