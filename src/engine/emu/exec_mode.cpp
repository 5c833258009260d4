#include "engine/emu/exec_mode.hpp"

#include <atomic>
#include <charconv>
#include <cstdlib>

namespace vessel::engine::emu {

namespace {
ExecMode from_environment() {
  const char* v = std::getenv("VESSEL_EMU_EXEC");
  if (!v) return ExecMode::kJit;
  return parse_exec_mode(v).value_or(ExecMode::kJit);
}
std::atomic<int> g_override{-1};
}  // namespace

std::optional<ExecMode> parse_exec_mode(std::string_view text) {
  if (text == "interp") return ExecMode::kInterp;
  if (text == "jit") return ExecMode::kJit;
  return std::nullopt;
}

ExecMode default_exec_mode() {
  const int o = g_override.load(std::memory_order_relaxed);
  if (o >= 0) return static_cast<ExecMode>(o);
  static const ExecMode env = from_environment();
  return env;
}

std::optional<uint32_t> parse_jit_threshold(std::string_view text) {
  uint32_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n > 1'000'000)
    return std::nullopt;
  return n;
}

uint32_t default_jit_threshold(uint32_t fallback) {
  static const std::optional<uint32_t> env = [] {
    const char* v = std::getenv("VESSEL_JIT_THRESHOLD");
    return v ? parse_jit_threshold(v) : std::nullopt;
  }();
  return env.value_or(fallback);
}

void set_default_exec_mode(ExecMode mode) {
  g_override.store(static_cast<int>(mode), std::memory_order_relaxed);
}

}  // namespace vessel::engine::emu
