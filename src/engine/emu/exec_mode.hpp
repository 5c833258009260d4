// How the software CPU executes guest code: the interpreter (reference) or the translator
// (jit/, translated blocks with interpreter handlers as the fallback per instruction).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace vessel::engine::emu {

enum class ExecMode { kInterp, kJit };

// The mode new Cpus start in: set_default_exec_mode (vessel run --emu-exec), else the
// VESSEL_EMU_EXEC environment variable (interp | jit), else kJit (the translator).
ExecMode default_exec_mode();
void set_default_exec_mode(ExecMode mode);
std::optional<ExecMode> parse_exec_mode(std::string_view text);

// Interpreted runs of a block before the translator takes it: VESSEL_JIT_THRESHOLD (a decimal
// count up to 1,000,000, for tuning and benchmarks) if set and valid, else `fallback`.
uint32_t default_jit_threshold(uint32_t fallback);
std::optional<uint32_t> parse_jit_threshold(std::string_view text);

}  // namespace vessel::engine::emu
