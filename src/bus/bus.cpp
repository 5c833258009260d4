#include "bus/bus.hpp"

#include <algorithm>
#include <mutex>

#include "base/log.hpp"

namespace vessel::bus {

Result<void> Bus::add(uint64_t base, uint64_t size, std::shared_ptr<IoDevice> device) {
  if (size == 0 || base + size < base)
    return fail("{} bus: invalid range [{:#x}, +{:#x}) for {}", name_, base, size, device->name());
  std::unique_lock lock(mutex_);
  auto next = std::upper_bound(ranges_.begin(), ranges_.end(), base,
                               [](uint64_t b, const Range& r) { return b < r.base; });
  if (next != ranges_.end() && base + size > next->base)
    return fail("{} bus: {} at [{:#x}, +{:#x}) overlaps {} at {:#x}", name_, device->name(), base,
                size, next->device->name(), next->base);
  if (next != ranges_.begin()) {
    const Range& prev = *std::prev(next);
    if (prev.base + prev.size > base)
      return fail("{} bus: {} at [{:#x}, +{:#x}) overlaps {} at {:#x}", name_, device->name(), base,
                  size, prev.device->name(), prev.base);
  }
  ranges_.insert(next, Range{base, size, std::move(device)});
  return {};
}

Result<void> Bus::remove(uint64_t base) {
  std::unique_lock lock(mutex_);
  auto it = std::find_if(ranges_.begin(), ranges_.end(),
                         [base](const Range& r) { return r.base == base; });
  if (it == ranges_.end()) return fail("{} bus: no device at {:#x}", name_, base);
  ranges_.erase(it);
  return {};
}

const Bus::Range* Bus::find(uint64_t addr, uint64_t len) const {
  auto next = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                               [](uint64_t a, const Range& r) { return a < r.base; });
  if (next == ranges_.begin()) return nullptr;
  const Range& r = *std::prev(next);
  if (addr - r.base >= r.size || len > r.size - (addr - r.base)) return nullptr;
  return &r;
}

bool Bus::read(uint64_t addr, std::span<uint8_t> data) {
  reads_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<IoDevice> device;
  uint64_t offset = 0;
  {
    std::shared_lock lock(mutex_);
    if (const Range* r = find(addr, data.size())) {
      device = r->device;
      offset = addr - r->base;
    }
  }
  if (!device) {
    std::fill(data.begin(), data.end(), 0xff);
    if (unhandled_.fetch_add(1, std::memory_order_relaxed) == 0)
      log::debug("{} bus: read of {} bytes at {:#x} hits no device", name_, data.size(), addr);
    return false;
  }
  device->read(offset, data);
  return true;
}

bool Bus::write(uint64_t addr, std::span<const uint8_t> data) {
  writes_.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<IoDevice> device;
  uint64_t offset = 0;
  {
    std::shared_lock lock(mutex_);
    if (const Range* r = find(addr, data.size())) {
      device = r->device;
      offset = addr - r->base;
    }
  }
  if (!device) {
    if (unhandled_.fetch_add(1, std::memory_order_relaxed) == 0)
      log::debug("{} bus: write of {} bytes at {:#x} hits no device", name_, data.size(), addr);
    return false;
  }
  device->write(offset, data);
  return true;
}

}  // namespace vessel::bus
