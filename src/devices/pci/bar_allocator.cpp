#include "devices/pci/bar_allocator.hpp"

#include <bit>

namespace vessel::devices::pci {

Result<uint64_t> BarAllocator::take(Window& w, uint64_t size) {
  const uint64_t base = (w.next + size - 1) & ~(size - 1);
  if (base < w.next || base > w.end || size > w.end - base)
    return fail("PCI BAR window [{:#x}, {:#x}) has no room for {:#x} bytes", w.next, w.end, size);
  w.next = base + size;
  return base;
}

Result<uint64_t> BarAllocator::allocate(uint64_t size, bool is64) {
  if (size < 0x1000 || !std::has_single_bit(size))
    return fail("PCI BAR size {:#x} is not a power of two of at least 4 KiB", size);
  if (is64 && high_64bit_) return take(high_, size);
  if (!is64 && size > k32BitWindowSize) return fail("32-bit BAR of {:#x} bytes is too big", size);
  auto low = take(low_, size);
  if (low || !is64) return low;
  return take(high_, size);
}

}  // namespace vessel::devices::pci
