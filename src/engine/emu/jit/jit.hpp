// Jit: a vCPU's translator state: its code cache, the field layout generated code uses, and
// the statistics the user can read (Cpu::exec_stats).
#pragma once

#include "engine/emu/jit/code_cache.hpp"
#include "engine/emu/jit/translator.hpp"

namespace vessel::engine::emu::jit {

class Jit {
 public:
  explicit Jit(const Cpu& cpu) : layout(Layout::of(cpu)) {}

  CodeCache cache;
  Layout layout;
  Stats stats;
  uint64_t translated_runs = 0;   // block runs in translated code
  uint64_t interpreted_runs = 0;  // block runs in the interpreter (cold, shadow, no space)
  uint64_t translated_insts = 0;  // instructions retired in translated code
};

}  // namespace vessel::engine::emu::jit
