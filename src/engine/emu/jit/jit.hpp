// Jit: a vCPU's translator state: its code cache with the code all translations share, the
// field layout generated code uses, the block-chaining bookkeeping (exit slots, the
// indirect-branch lookup), the decoded instructions translations call handlers with, and the
// statistics the user can read (Cpu::exec_stats).
#pragma once

#include <Zydis/Mnemonic.h>

#include <array>
#include <deque>
#include <memory>
#include <vector>

#include "engine/emu/jit/code_cache.hpp"
#include "engine/emu/jit/translator.hpp"

namespace vessel::engine::emu::jit {

// The code at the start of each cache generation that translations jump to (shared_stubs.cpp).
struct SharedStubs {
  // The C entry's frame set-up: rdi = Cpu*, rsi = the block's body.
  const void* enter = nullptr;
  const void* status[4] = {};        // return Status i through the shared epilogue
  const void* leave_slot = nullptr;  // rax = the ExitSlot left by; returns kRanToEnd
  const void* probe[2] = {};         // per privilege: the indirect lookup of st.rip
  // The same after committing an exit's counts in 64-bit code: ecx = RIP bytes << 8 |
  // instructions retired (see Emitter::emit_exits); the take_ ones first take the flags in
  // edi from st.rflags into r15, which carries all of them between blocks.
  const void* commit_status[4] = {};
  const void* commit_probe[2] = {};
  const void* take_commit_status[4] = {};
  const void* take_commit_probe[2] = {};
  // Called with esi = segment | size << 8 | RIP bytes not yet stored << 16, r13 = offset,
  // r14 = the value to store: ZF clear on a fault (st.rip then at the instruction), else ZF
  // set and a load's value in rax.
  const void* slow_read = nullptr;
  const void* slow_write = nullptr;
};
class Jit;
// Emits the stubs at the cache's free pointer (a fresh generation) and records where.
void emit_shared_stubs(Jit& jit);
struct Emitter;

class Jit {
 public:
  explicit Jit(const Cpu& cpu);  // translator.cpp, with the Emitter complete
  ~Jit();
  Jit(const Jit&) = delete;
  Jit& operator=(const Jit&) = delete;

  // Drops every translation and everything that points into them. At a block boundary only.
  void flush() {
    cache.flush();
    slots.clear();
    called.clear();
    exit_slot = pending_slot = nullptr;
    clear_indirect();
    emit_shared_stubs(*this);
  }
  void clear_indirect() {
    for (auto& t : indirect) t.fill(IndirectEntry{});
    local_indirect.clear();
  }

  CodeCache cache;
  Layout layout;
  Stats stats;
  SharedStubs stubs;           // of the current cache generation
  std::deque<ExitSlot> slots;  // of the current cache generation (stable addresses)
  // Copies of the instructions translations of this generation call handlers with (their
  // address is in the code), so that blocks need not keep their decoded instructions.
  std::deque<x86::DecodedInst> called;
  // Written by generated code: the slot a block left by (nullptr: not a patchable exit).
  ExitSlot* exit_slot = nullptr;
  // The slot the last translated run left by, linked to the next translated block run.
  ExitSlot* pending_slot = nullptr;
  ExitSlot indirect_meta[2];  // "left through an indirect lookup miss", per privilege
  std::array<std::array<IndirectEntry, kIndirectEntries>, 2> indirect;  // per privilege
  // The indirect entries filled for RIPs on non-global pages (user << 15 | index): a CR3
  // write keeps global translations, so it drops just these (Cpu::jit_forget_local_lookups)
  // rather than all (Linux writes CR3 some 3,000 times a second of boot). Past
  // kLocalIndirectMax the CR3 write drops everything instead.
  static constexpr size_t kLocalIndirectMax = 2 * kIndirectEntries;
  std::vector<uint16_t> local_indirect;

  uint64_t translated_runs = 0;   // block runs entered from the run loop in translated code
  uint64_t interpreted_runs = 0;  // block runs in the interpreter (cold, shadow, no space)
  uint64_t translated_insts = 0;  // instructions retired in translated code
  uint64_t cache_hits = 0;        // translated runs from the run loop that found a translation
  uint64_t chained_entries = 0;   // blocks entered from another block's code (RunCounters)
  uint64_t indirect_hits = 0;     // ... of which through the indirect lookup
  // Handler calls made by translated code, per DecodedInst::op (Cpu::exec_stats names the
  // most frequent: what to translate natively next).
  std::array<uint64_t, ZYDIS_MNEMONIC_MAX_VALUE + 1> fallbacks_by_op{};
  // The code generator every translation reuses (Emitter::begin): an xbyak CodeGenerator is a
  // few KiB of register objects and label bookkeeping, costly to build once per block.
  std::unique_ptr<Emitter> emitter;
};

}  // namespace vessel::engine::emu::jit
