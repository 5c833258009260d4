#include "engine/emu/exec_mode.hpp"

#include <atomic>
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

void set_default_exec_mode(ExecMode mode) {
  g_override.store(static_cast<int>(mode), std::memory_order_relaxed);
}

}  // namespace vessel::engine::emu
