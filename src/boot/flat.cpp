#include "boot/flat.hpp"

#include <algorithm>

namespace vessel::boot {
namespace {

void set_real_segment(arch::Segment& seg, uint16_t selector) {
  seg.selector = selector;
  seg.base = uint64_t{selector} << 4;
}

// Below 64 KiB: CS = SS = 0, IP = SP = the load address (the stack grows down under the
// image, like a boot sector's). Higher: CS = address >> 4, IP = address & 0xf, and the stack
// segment ends 16 bytes below the image so the full 64 KiB of stack stays under it.
arch::CpuState real_mode_entry(uint64_t load_address) {
  if (load_address < 0x10000) {
    const auto at = static_cast<uint16_t>(load_address);
    return arch::real_mode_state(at, at);
  }
  arch::CpuState s = arch::real_mode_state(static_cast<uint16_t>(load_address & 0xf), 0xfff0);
  set_real_segment(s.seg[arch::kCs], static_cast<uint16_t>(load_address >> 4));
  set_real_segment(s.seg[arch::kSs], static_cast<uint16_t>((load_address >> 4) - 0x1000));
  return s;
}

}  // namespace

Result<LoadedImage> load_flat(const memory::GuestMemory& memory, std::span<const uint8_t> image,
                              uint64_t load_address) {
  if (load_address >= kRealModeLimit)
    return fail("flat load address {:#x} is not below 1 MiB (real mode cannot reach it)",
                load_address);
  auto dst = memory.span(load_address, image.size());
  if (!dst)
    return fail("a {}-byte flat image at {:#x} does not fit in guest RAM ({} MiB)", image.size(),
                load_address, memory.ram_size() >> 20);
  std::copy(image.begin(), image.end(), dst->begin());
  return LoadedImage{real_mode_entry(load_address), "flat"};
}

}  // namespace vessel::boot
