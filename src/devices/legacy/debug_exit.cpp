#include "devices/legacy/debug_exit.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace vessel::devices {

void DebugExit::read(uint64_t, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0xff);
}

void DebugExit::write(uint64_t, std::span<const uint8_t> data) {
  // The exit status is a byte for the shell, but keep the full value in the reason.
  const uint64_t value = bus::load_le(data);
  control_.request_exit(static_cast<int>(((value << 1) | 1) & 0xff),
                        fmt::format("guest wrote {:#x} to the debug-exit port", value));
}

}  // namespace vessel::devices
