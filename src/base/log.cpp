#include "base/log.hpp"

#include <unistd.h>

#include <string>

namespace vessel::log {
namespace {
std::atomic<Level> g_level{Level::kWarn};
}

void set_level(Level l) {
  g_level.store(l, std::memory_order_relaxed);
}
Level level() {
  return g_level.load(std::memory_order_relaxed);
}

void write(Level l, std::string_view message) {
  static constexpr std::string_view kPrefix[] = {"error", "warning", "info", "debug"};
  // "\r\n" keeps lines readable when the terminal is in raw mode for the guest console.
  std::string line = fmt::format("vessel: {}: {}\r\n", kPrefix[static_cast<int>(l)], message);
  // One write() per line so lines from several threads do not interleave.
  [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace vessel::log
