// Jit: a vCPU's translator state: its code cache, the field layout generated code uses, the
// block-chaining bookkeeping (exit slots, the indirect-branch lookup) and the statistics the
// user can read (Cpu::exec_stats).
#pragma once

#include <Zydis/Mnemonic.h>

#include <array>
#include <deque>
#include <vector>

#include "engine/emu/jit/code_cache.hpp"
#include "engine/emu/jit/translator.hpp"

namespace vessel::engine::emu::jit {

class Jit {
 public:
  explicit Jit(const Cpu& cpu) : layout(Layout::of(cpu)) {
    indirect_meta[0].indirect = indirect_meta[1].indirect = true;
    indirect_meta[1].user = true;
    clear_indirect();
  }

  // Drops every translation and everything that points into them. At a block boundary only.
  void flush() {
    cache.flush();
    slots.clear();
    exit_slot = pending_slot = nullptr;
    clear_indirect();
  }
  void clear_indirect() {
    for (auto& t : indirect) t.fill(IndirectEntry{});
    local_indirect.clear();
  }

  CodeCache cache;
  Layout layout;
  Stats stats;
  std::deque<ExitSlot> slots;  // of the current cache generation (stable addresses)
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
  uint64_t chained_entries = 0;   // blocks entered from another block's code (counted there)
  uint64_t indirect_hits = 0;     // ... of which through the indirect lookup
  // Handler calls made by translated code, per DecodedInst::op (Cpu::exec_stats names the
  // most frequent: what to translate natively next).
  std::array<uint64_t, ZYDIS_MNEMONIC_MAX_VALUE + 1> fallbacks_by_op{};
};

}  // namespace vessel::engine::emu::jit
