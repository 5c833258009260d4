// The guest GPRs a block keeps in host registers (r8-r12) from its entry to its exits, so
// that its instructions use them as register operands instead of loading and storing
// CpuState::gpr each time. Chosen per block by how often its instructions name them.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "x86/decode/decoded_inst.hpp"

namespace vessel::engine::emu::jit {

// Host registers available for the cache: r8, r9, r10, r11, r12 in this order
// (Emitter::host_reg; rbp holds the run's RunCounters::meter). The first kCallerSavedCacheRegs are
// caller-saved: calls into C++ that the block returns from (the memory slow paths) keep them in the
// block's frame.
inline constexpr unsigned kCacheRegs = 5;
inline constexpr unsigned kCallerSavedCacheRegs = 4;

struct RegCache {
  static constexpr int8_t kNone = -1;
  std::array<int8_t, 16> host{kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone,
                              kNone, kNone, kNone, kNone, kNone, kNone, kNone, kNone};
  uint16_t mask = 0;   // guest GPRs cached (bit n: GPR n)
  unsigned count = 0;  // host registers used: r8 up to r8 + count - 1
  bool has(unsigned reg) const { return reg < 16 && (mask >> reg & 1); }
};

// How many times each guest GPR is named by the block (operands, memory bases and indexes,
// and the implicit RSP/RAX/RDX of the forms translated natively).
std::array<unsigned, 16> gpr_references(std::span<const x86::DecodedInst> insts);

// The up to kCacheRegs GPRs named at least twice, most named first (ties: the lower number).
// A GPR named once gains nothing: loading it at entry costs what its one access would.
RegCache choose_cached_gprs(std::span<const x86::DecodedInst> insts);

}  // namespace vessel::engine::emu::jit
