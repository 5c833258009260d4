// The block translator: turns a decoded block into host x86-64 code in the CodeCache.
//
// Generated code is a function `uint32_t block(Cpu* cpu)` that runs the
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
  kNotRun = 3,    // a chained entry refused to run the block (exit request, budget, retired):
                  // nothing of it ran, st.rip is its start
};
using BlockFn = uint32_t (*)(Cpu* cpu);

// Block chaining (QEMU's goto_tb). A translation has two entries: the C entry (BlockFn) from
// the run loop, and the chained entry that other translations jump to directly; the chained
// entry leaves at once (kNotRun) when the run loop is needed: an exit request (interrupt, stop),
// or a budget smaller than the block. A translation starts with a Header saying where both are.
//
// A direct exit (fall-through, Jcc, JMP rel, CALL rel) whose target lies in the same guest page
// as the block ends in a `jmp rel32` to a stub that returns to the run loop with its ExitSlot;
// the run loop then patches that jump to the successor's chained entry. Same page is a static
// property (the block and its target move together whatever maps the page), so a patched jump
// stays right under any CR3 or PTE change; only 64-bit code is chained (no CS base or limit).
// A block going away (self-modifying code, device writes, a translation for the other
// privilege) is retired: its chained entry is patched into a jump to the shared kNotRun return,
// so stale indirect-lookup entries no longer run it, and the direct exits patched to it (its
// `incoming` list) are pointed back at their stubs, so their next run goes through the run
// loop, which links them to the block's successor translation.
// The C entry jumps to the shared frame set-up (SharedStubs::enter), which continues in the
// block's body right after its chained entry; every exit returns through the shared epilogue.
struct ExitSlot;
struct Header {
  ExitSlot* incoming;  // the exits patched to this translation (ExitSlot::next_in)
  uint8_t* chained;    // begins with a 5-byte NOP, the place retire() patches
  uint8_t* not_run;    // the shared kNotRun return (SharedStubs::status)
};
inline Header& header_of(BlockFn fn) {
  return *reinterpret_cast<Header*>(reinterpret_cast<uint8_t*>(fn) - sizeof(Header));
}
// Points the `jmp rel32` (or 5-byte NOP) at `at` to `target`.
void patch_jump(uint8_t* at, const void* target);
// Makes the translation unreachable through chained jumps and the indirect lookup.
void retire(BlockFn fn);

// A patchable exit (or the marker of an indirect-lookup miss).
struct ExitSlot {
  uint8_t* jump = nullptr;      // the jmp rel32 to patch (unpatched: to its stub right after it)
  uint64_t target_gpa = 0;      // where a direct exit always goes
  bool user = false;            // privilege the block was translated for (as its successor must be)
  bool indirect = false;        // an indirect lookup miss: fill the lookup with the next block
  ExitSlot* next_in = nullptr;  // the next exit patched to the same translation
};
// Patches `slot`'s jump to `to`'s chained entry and records it in `to`'s incoming list.
void chain(ExitSlot* slot, BlockFn to);

// The indirect-branch lookup (RET, JMP/CALL through a register or memory, and direct exits to
// another page, in 64-bit code):
// guest RIP → chained entry, valid while `gen` is the Cpu's chain generation (bumped by every
// TLB flush and INVLPG: the RIP → physical mapping cannot change otherwise). An entry whose
// block was dropped leads to its retired translation, which returns kNotRun; the run loop then
// fills the entry with the block's new translation.
struct IndirectEntry {
  uint64_t rip = 0;
  uint64_t gen = 0;  // 0: empty (the chain generation starts at 1)
  const void* code = nullptr;
  uint64_t pad = 0;
};
inline constexpr unsigned kIndirectEntries = 16384;  // (user << 15 | index fits 16 bits)
inline unsigned indirect_index(uint64_t rip) {
  return static_cast<unsigned>(rip ^ (rip >> 10)) & (kIndirectEntries - 1);
}

// Byte offsets of the fields generated code touches, from the Cpu object (computed from a live
// Cpu because Cpu is not standard-layout, so offsetof does not apply).
struct Layout {
  int32_t gpr, rip, rflags, next_rip, end_block, fallbacks, tlb, exit_request, chain_gen;
  int32_t meter, indirect_hits;  // Cpu::jit_run's
  int32_t seg_base[6];
  static Layout of(const Cpu& c);
};

struct Stats {
  uint64_t blocks_translated = 0;
  uint64_t native_insts = 0, called_insts = 0;  // static counts, per translated instruction
  uint64_t all_live_retries = 0;  // blocks translated again without lazy flags (flag_liveness)
  uint64_t cached_gprs = 0;       // guest GPRs kept in host registers, summed over blocks
  uint64_t code_bytes = 0;        // of the translations made
};

class Jit;
// Translates `insts` (with their interpreter handlers), the block at guest-physical `gpa`;
// nullptr when the cache is full. `user`: the block runs at CPL 3 (which TLB its memory
// accesses use).
BlockFn translate(Jit& jit, uint64_t gpa, std::span<const x86::DecodedInst> insts,
                  std::span<const Handler> handlers, x86::CodeMode mode, bool user);

// Runs one handler with its C++ exceptions turned into a status (see Status; 0 = continue).
uint32_t guarded_call(Cpu* cpu, const x86::DecodedInst* inst, Handler handler) noexcept;

}  // namespace vessel::engine::emu::jit
