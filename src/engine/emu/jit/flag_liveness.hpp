// Lazy flags: a backward liveness pass over a block, so that a flag-writing instruction saves
// into st.rflags only the arithmetic flags a later instruction of the block reads before they
// are overwritten. Conservatively, every flag is live at the block's exits and around every
// instruction that is not a plain register-only move, ALU operation or condition test (memory
// accesses may fault, handler calls see the whole state, branches end the block).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "x86/decode/decoded_inst.hpp"

namespace vessel::engine::emu::jit {

struct FlagPlan {
  // Per instruction: the arithmetic flags (RFLAGS bits) live after it.
  std::vector<uint32_t> live_out;
  // Per instruction: the plan took it for natively translated and invisible from outside; if
  // the translator then calls its handler instead, the plan is void (translate all-live).
  std::vector<uint8_t> assumed_native;
};

FlagPlan plan_flags(std::span<const x86::DecodedInst> insts);

}  // namespace vessel::engine::emu::jit
