#include "devices/virtio/console/virtio_console.hpp"

#include <algorithm>

namespace vessel::devices::virtio {

void VirtioConsole::process_queue(uint16_t index, Virtqueue& queue) {
  if (index == kTransmitQueue) return transmit(queue);
  if (index == kReceiveQueue) deliver_input(queue);
}

void VirtioConsole::transmit(Virtqueue& queue) {
  while (queue.pop(chain_) == Virtqueue::Pop::kChain) {
    for (std::span<const uint8_t> buffer : chain_.readable)
      if (!buffer.empty() && sink_) sink_(buffer);
    queue.push_used(chain_.head, 0);  // the device wrote nothing into the chain
  }
}

void VirtioConsole::deliver_input(Virtqueue& queue) {
  std::lock_guard lock(input_mutex_);
  // Pop only when there is something to give: the driver's buffers wait for input otherwise.
  while (!pending_.empty() && queue.pop(chain_) == Virtqueue::Pop::kChain) {
    ChainWriter writer(chain_.writable);
    const uint64_t n = writer.write(pending_);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(n));
    queue.push_used(chain_.head, static_cast<uint32_t>(n));
  }
}

size_t VirtioConsole::receive(std::span<const uint8_t> bytes) {
  size_t taken = 0;
  {
    std::lock_guard lock(input_mutex_);
    taken = std::min(bytes.size(), kInputBuffer - pending_.size());
    pending_.insert(pending_.end(), bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(taken));
  }
  if (wake_) wake_(kReceiveQueue);
  return taken;
}

size_t VirtioConsole::pending_input() const {
  std::lock_guard lock(input_mutex_);
  return pending_.size();
}

Result<void> VirtioConsole::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(input_mutex_);
  out(pending_);
  return {};
}

Result<void> VirtioConsole::load_state(bus::StateReader& in) {
  std::vector<uint8_t> pending;
  in(pending);
  if (pending.size() > kInputBuffer) in.fail_with("more saved input than the buffer holds");
  if (!in.ok()) return in.finish();  // the transport checks that nothing is left over
  std::lock_guard lock(input_mutex_);
  pending_ = std::move(pending);
  return {};
}

}  // namespace vessel::devices::virtio
