// The block translator: turns a decoded block into host x86-64 code in the CodeCache.
//
// Generated code is a function `uint32_t block(Cpu* cpu, uint64_t* budget)` that runs the
// block's instructions in order with the run loop's bookkeeping inlined (next_rip, rip,
// retired count, RF, budget, end_block). The caller guarantees budget >= the block's length. An
// instruction without a native translation is a direct call to its interpreter handler through
// guarded_call() (call threading), which keeps C++ exceptions out of the generated frames. Natively
// translated families live in native_*.cpp.
#pragma once

#include <cstdint>
#include <span>

#include "engine/emu/cpu.hpp"
#include "engine/emu/jit/code_cache.hpp"

namespace vessel::engine::emu::jit {

// How a translated block returned.
enum Status : uint32_t {
  kRanToEnd = 0,  // every instruction retired, no event: the successor may be chained
  kLeft = 1,      // left early (budget spent, end_block, interrupt shadow); state committed
  kFault = 2,     // an instruction faulted before committing: Cpu::jit_fault (or jit_exception)
};
using BlockFn = uint32_t (*)(Cpu* cpu, uint64_t* budget);

// Byte offsets of the fields generated code touches, from the Cpu object (computed from a live
// Cpu because Cpu is not standard-layout, so offsetof does not apply).
struct Layout {
  int32_t gpr, rip, rflags, next_rip, end_block, retired, fallbacks, tlb;
  int32_t seg_base[6];
  static Layout of(const Cpu& c);
};

struct Stats {
  uint64_t blocks_translated = 0;
  uint64_t native_insts = 0, called_insts = 0;  // static counts, per translated instruction
};

// Translates `insts` (with their interpreter handlers); nullptr when the cache is full.
// `user`: the block runs at CPL 3 (which TLB its memory accesses use).
BlockFn translate(CodeCache& cache, const Layout& layout, std::span<const x86::DecodedInst> insts,
                  std::span<const Handler> handlers, x86::CodeMode mode, bool user, Stats& stats);

// Runs one handler with its C++ exceptions turned into a status (see Status; 0 = continue).
uint32_t guarded_call(Cpu* cpu, const x86::DecodedInst* inst, Handler handler) noexcept;

}  // namespace vessel::engine::emu::jit
