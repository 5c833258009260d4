// Cpu: one software x86-64 processor. It runs guest code from GuestMemory on an arch::CpuState:
// decoded blocks (x86::Decoder, cached per guest-physical block), an interpreter dispatched
// through a table indexed by the instruction's handler id (handler files split by SDM chapter in
// interp/), a soft MMU with a per-CPU TLB, and exception/interrupt delivery through the IDT.
// Port I/O and MMIO are answered during the instruction by the IoHandler.
//
// It is not a vCPU thread: it never sleeps. The caller (EmuVcpu) runs it in slices and decides
// what a halt means. Guest faults are thrown as GuestFault inside the CPU and never leave run().
// Host requirement: x86-64 (ALU flags come from the host's own instructions, see
// interp/alu_ops.hpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "arch/x86/cpu_state.hpp"
#include "base/clock.hpp"
#include "bus/bus.hpp"
#include "bus/interrupt_controller.hpp"
#include "engine/emu/exec_mode.hpp"
#include "engine/emu/key_table.hpp"
#include "engine/emu/shared_code_pages.hpp"
#include "memory/guest_memory.hpp"
#include "x86/decode/decoded_inst.hpp"
#include "x86/decode/decoder.hpp"

namespace vessel::engine::emu {

enum class StopReason {
  kInstructionLimit,  // `max_instructions` retired
  kHalt,              // the CPU is halted (HLT) and no interrupt or NMI can be delivered right now;
                      // run() again after an interrupt becomes pending (or treat it as the end)
  kShutdown,          // triple fault (error() says which fault)
  kInterrupted,       // request_stop() was called
  kError,             // the engine cannot go on (instruction fetch from MMIO, ...); see error()
};

// Exception vectors (SDM Vol. 3A §6.3.1, Table 6-1).
namespace vec {
inline constexpr uint8_t kDE = 0, kDB = 1, kNMI = 2, kBP = 3, kOF = 4, kBR = 5, kUD = 6, kNM = 7,
                         kDF = 8, kTS = 10, kNP = 11, kSS = 12, kGP = 13, kPF = 14, kMF = 16,
                         kAC = 17, kMC = 18, kXM = 19;
}

// A guest exception raised in the middle of an instruction. Thrown inside the CPU only and
// caught by run(), which delivers it through the IDT: the instruction has not committed.
struct GuestFault {
  uint8_t vector;
  bool has_error;
  uint32_t error;
};
[[noreturn]] void raise(uint8_t vector);
[[noreturn]] void raise(uint8_t vector, uint32_t error);

enum class Access : uint8_t { kRead = 0, kWrite = 1, kFetch = 2 };

// One TLB entry: a linear 4 KiB page and its RAM host address. tag[a] equals the page's
// linear address when access `a` may take the fast path (for writes only once the dirty bit
// is set and the page holds no decoded code), and is odd (never matches) otherwise. An entry is
// one cache line: translated code finds it by shifting and masking the address, no multiply.
struct alignas(64) TlbEntry {
  uint64_t tag[3] = {1, 1, 1};
  uint8_t* host = nullptr;
  // host minus the linear page (wrapping): translated code adds the linear address to it.
  uint64_t addend = 0;
  uint64_t gpa = 0;
  bool global = false;
  // In Cpu::tlb_filled_ / tlb_global_filled_. Kept when the entry is reset (the index stays
  // in its list until the next flush walks it), so an index is never listed twice.
  bool listed = false;
  bool listed_global = false;
};

class Cpu;
namespace jit {
class Jit;
// A translated run's instruction budget, and what chained code counts (Cpu::jit_run, which
// run_translated sets and reads; generated code keeps `meter` in a host register during the
// run and `indirect_hits` here, rbx-relative).
// The budget and the count of block exits share one word, `meter` = budget << kExitBits |
// exits, so that an exit's bookkeeping is one subtraction of (retired << kExitBits) - 1. A run
// leaves the generated code through exactly one exit (every other exit went on to a chained
// entry, or a loop pass), so the blocks entered through chained jumps are exits - 1. A run's
// budget is at most kChainSpan, each exit but a fault's retires at least one instruction: the
// exit count never reaches bit kExitBits.
struct RunCounters {
  static constexpr unsigned kExitBits = 20;
  uint64_t meter = 0;
  uint64_t indirect_hits = 0;  // blocks entered through the indirect lookup
  static RunCounters with_budget(uint64_t budget) { return {budget << kExitBits, 0}; }
  uint64_t budget() const { return meter >> kExitBits; }  // instructions it may still retire
  uint64_t exits() const { return meter & ((1ull << kExitBits) - 1); }
  // Blocks entered through chained jumps (patched, the lookup, a loop's next pass).
  uint64_t chained() const { return exits() ? exits() - 1 : 0; }
};
}  // namespace jit
using Handler = void (*)(Cpu&, const x86::DecodedInst&);

class Cpu {
 public:
  // Direct-mapped, per privilege: 4096 entries cover 16 MiB of distinct pages, so a 4 MiB
  // working set (bench/payloads/mips.asm) no longer evicts itself.
  static constexpr unsigned kTlbSize = 4096;
  static constexpr unsigned kMaxBlockInsts = 64;
  // Interpreted runs of a block before it is translated: code that runs once (most of a
  // boot's setup code) is not worth translating.
  static constexpr uint32_t kJitThreshold = 4;

  Cpu(const memory::GuestMemory& memory, bus::IoHandler& io, unsigned index = 0);
  ~Cpu();
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;

  arch::CpuState& state() { return st; }
  // Call after changing state() between runs in a way that changes paging or code
  // (flushes the TLB; decoded blocks stay valid as they are keyed by physical address).
  void state_changed();
  StopReason run(uint64_t max_instructions);
  const std::string& error() const { return error_; }
  uint64_t instructions_retired() const { return retired_; }
  void set_interrupt_controller(bus::InterruptController* ic) { ic_ = ic; }
  void request_stop() {
    stop_.store(true, std::memory_order_release);
    request_exit();
  }
  // Makes translated code that chains from block to block come back to the run loop at its
  // next block boundary (an interrupt became pending; any thread may call it).
  void request_exit() { exit_request_.store(1, std::memory_order_release); }
  unsigned index() const { return index_; }
  std::vector<uint64_t> recent_blocks() const;
  // Interpreter or translator (see exec_mode.hpp); takes effect at the next block.
  void set_exec_mode(ExecMode mode) { exec_mode_ = mode; }
  ExecMode exec_mode() const { return exec_mode_; }
  // Interpreted runs before a block is translated (tests use 0: translate at once).
  void set_jit_threshold(uint32_t runs) { jit_threshold_ = runs; }
  // Instructions translated to native code so far (not counting handler calls).
  uint64_t jit_native_instructions() const;
  // Block transitions translated code made without the run loop: through patched direct
  // jumps, and through the indirect-branch lookup.
  uint64_t jit_chained_jumps() const;
  uint64_t jit_indirect_hits() const;
  // Translator statistics, one line for the user ("" when nothing was translated).
  std::string exec_stats() const;
  // Wall-clock rate of the emulated TSC (CPUID leaf 0x15 advertises it).
  static constexpr uint64_t kTscHz = 1'000'000'000;

  // ---- Interpreter internals (used by interp/ handlers; not an API for other modules) ----
  arch::CpuState st;
  uint64_t next_rip = 0;   // address of the next instruction (handlers may change it)
  bool end_block = false;  // a handler changed something that invalidates the block
  bus::IoHandler& io;
  const memory::GuestMemory& mem;

  unsigned cpl() const {
    if (!(st.cr0 & arch::cr0::kPE)) return 0;
    if (st.rflags & arch::rflags::kVM) return 3;
    return st.seg[arch::kCs].selector & 3;
  }
  bool long_mode() const { return st.efer & arch::efer::kLMA; }
  bool mode64() const { return long_mode() && st.seg[arch::kCs].l; }
  bool protected_mode() const { return st.cr0 & arch::cr0::kPE; }
  unsigned stack_size() const {  // bytes: the size of pushes' RSP arithmetic
    return mode64() ? 8 : st.seg[arch::kSs].db ? 4 : 2;
  }

  // Segmentation: offset → linear address with limit/type checks (#GP/#SS).
  // The 64-bit case without FS/GS (no base, no limit: only the canonical check) is inline.
  uint64_t linear(int seg, uint64_t offset, unsigned size, Access acc) const {
    if (mode64() && seg != arch::kFs && seg != arch::kGs) {
      const uint64_t hi = offset >> 47, last_hi = (offset + size - 1) >> 47;
      if (((hi + 1) & 0x1ffff) <= 1 && ((last_hi + 1) & 0x1ffff) <= 1) [[likely]]
        return offset;
    }
    return linear_slow(seg, offset, size, acc);
  }
  uint64_t linear_slow(int seg, uint64_t offset, unsigned size, Access acc) const;

  // Linear-address memory access at the current privilege (`user` = CPL 3 data access).
  template <class T>
  T read_la(uint64_t la, bool user) {
    const TlbEntry& e = tlb_[user][(la >> 12) & (kTlbSize - 1)];
    if (e.tag[0] == (la & ~0xfffull) && (la & 0xfff) <= 4096 - sizeof(T)) [[likely]] {
      T v;
      std::memcpy(&v, e.host + (la & 0xfff), sizeof(T));
      return v;
    }
    return static_cast<T>(read_slow(la, sizeof(T), user));
  }
  template <class T>
  void write_la(uint64_t la, T v, bool user) {
    const TlbEntry& e = tlb_[user][(la >> 12) & (kTlbSize - 1)];
    if (e.tag[1] == (la & ~0xfffull) && (la & 0xfff) <= 4096 - sizeof(T)) [[likely]] {
      std::memcpy(e.host + (la & 0xfff), &v, sizeof(T));
      return;
    }
    write_slow(la, sizeof(T), v, user);
  }
  // Host address of `la` when the TLB gives access `acc` the fast path on its page (RAM; for
  // writes: dirty, no code anyone holds, no data breakpoint), else nullptr: what bulk REP
  // MOVS/STOS may touch directly for the rest of that page (interp/string_bulk.cpp).
  uint8_t* fast_host(uint64_t la, Access acc, bool user) const {
    const TlbEntry& e = tlb_[user][(la >> 12) & (kTlbSize - 1)];
    if (e.tag[static_cast<unsigned>(acc)] != (la & ~0xfffull)) return nullptr;
    return e.host + (la & 0xfff);
  }
  uint64_t read_la_n(uint64_t la, unsigned size, bool user) {
    switch (size) {
      case 1:
        return read_la<uint8_t>(la, user);
      case 2:
        return read_la<uint16_t>(la, user);
      case 4:
        return read_la<uint32_t>(la, user);
      default:
        return read_la<uint64_t>(la, user);
    }
  }
  void write_la_n(uint64_t la, unsigned size, uint64_t v, bool user) {
    switch (size) {
      case 1:
        return write_la<uint8_t>(la, static_cast<uint8_t>(v), user);
      case 2:
        return write_la<uint16_t>(la, static_cast<uint16_t>(v), user);
      case 4:
        return write_la<uint32_t>(la, static_cast<uint32_t>(v), user);
      default:
        return write_la<uint64_t>(la, v, user);
    }
  }
  // Segment-relative data access at the current privilege.
  uint64_t read(int seg, uint64_t off, unsigned size) {
    return read_la_n(linear(seg, off, size, Access::kRead), size, cpl() == 3);
  }
  void write(int seg, uint64_t off, unsigned size, uint64_t v) {
    write_la_n(linear(seg, off, size, Access::kWrite), size, v, cpl() == 3);
  }
  // Checks that a write would succeed (translation + permissions) without writing: for
  // instructions that must fault before changing anything else.
  void probe_write(int seg, uint64_t off, unsigned size);
  // Host pointer for an aligned-enough locked access, or nullptr (MMIO, crosses a page).
  uint8_t* host_for_write(uint64_t la, unsigned size, bool user);
  // Supervisor ("implicit") accesses: descriptor tables, IDT, TSS (SDM Vol. 3A §4.6).
  uint64_t read_sys(uint64_t la, unsigned size) { return read_la_n(la, size, false); }
  void write_sys(uint64_t la, unsigned size, uint64_t v) { write_la_n(la, size, v, false); }

  // The soft MMU (mmu.cpp): linear → guest-physical with the page walk; throws #PF.
  uint64_t translate(uint64_t la, Access acc, bool user);
  void flush_tlb(bool keep_global);
  void invlpg(uint64_t la);
  // Physical access (RAM or MMIO), after translation.
  uint64_t phys_read(uint64_t gpa, unsigned size);
  void phys_write(uint64_t gpa, unsigned size, uint64_t v);

  // Stack (stack.cpp helpers, used by several handler files).
  void push(uint64_t v, unsigned size);
  uint64_t pop(unsigned size);
  uint64_t rsp_masked() const;

  // Segments (segments.cpp).
  void load_segment(int seg, uint16_t selector);  // MOV/POP/LxS: checks for data/stack segs
  void load_real_segment(int seg, uint16_t selector);
  uint64_t read_descriptor(uint16_t selector, int fault_vector);  // 8 bytes; raises on bad index
  void set_descriptor_cache(arch::Segment& s, uint16_t selector, uint64_t desc) const;
  void far_transfer(uint16_t selector, uint64_t offset, bool is_call, unsigned opsize);
  void call_gate(uint16_t gate_selector, uint64_t gate, bool is_call);  // call_gate.cpp
  void far_return(unsigned opsize, uint64_t pop_extra);
  void iret(unsigned opsize);
  void iret_to_v86(uint64_t sp);  // IRET at CPL 0 with VM = 1 in the popped EFLAGS

  // Task switches (task_switch.cpp; legacy protected mode only).
  enum class TaskEntry : uint8_t { kJmp, kCall, kIret, kEvent };
  // Far JMP/CALL to a TSS descriptor or a task gate (`desc` from the GDT/LDT).
  void task_transfer(uint16_t selector, uint64_t desc, bool is_call);
  // An interrupt or exception through a task gate of the IDT; pushes the error code on the
  // new task's stack.
  void task_gate_event(uint64_t gate, bool has_error, uint32_t error, uint32_t ext,
                       uint64_t ret_rip);
  void task_return();  // IRET with NT = 1: back to the task in the TSS's back link
  // True when the new task's TSS has its T bit set: the caller raises the #DB (DR6.BT) once
  // the switch is complete (after an event's error code is pushed).
  bool switch_task(uint16_t selector, uint64_t desc, TaskEntry how, uint64_t old_eip, uint32_t ext);
  // The #DB trap of a TSS T bit, taken in the new task before its first instruction.
  void task_switch_trap();

  // SS:eSP for a more privileged CPL from a 16- or 32-bit TSS (interrupt gates and call gates
  // in legacy protected mode), with the SS checks: #TS / #SS, error codes | `ext`.
  struct InnerStack {
    uint16_t ss;
    uint64_t ss_desc;
    uint32_t esp;
  };
  InnerStack legacy_inner_stack(unsigned new_cpl, uint32_t ext);

  // Exceptions and interrupts (exceptions.cpp).
  // `fault`: a fault-class exception (the image of EFLAGS it pushes has RF = 1).
  void deliver(uint8_t vector, bool has_error, uint32_t error, bool software, uint64_t ret_rip,
               bool fault = false);
  void raise_interrupt_sw(uint8_t vector);  // INT n / INT3 / INTO: trap, return to next_rip

  // System state changes (system.cpp).
  void write_cr0(uint64_t v);
  void write_cr3(uint64_t v);
  void write_cr4(uint64_t v);
  void write_efer(uint64_t v);
  void update_lma();
  bool rdmsr(uint32_t index, uint64_t& value);
  bool wrmsr(uint32_t index, uint64_t value);
  uint64_t read_tsc() const;
  // Makes this vCPU use the VM's shared TSC counter.
  void share_tsc(std::shared_ptr<std::atomic<int64_t>> delta) { tsc_delta_ = std::move(delta); }
  // Makes this vCPU use the VM's map of code-holding pages (cross-modifying code between vCPUs).
  void share_code_pages(std::shared_ptr<SharedCodePages> pages);
  // The time line the TSC follows (the VM's pausable clock); the host's when unset.
  void set_clock(const Clock* clock) { clock_ = clock; }
  // Sets the TSC to `value`; a value within a second of the current one is taken as "keep
  // the TSCs synchronized" and changes nothing (as KVM matches TSC writes), so restarting an
  // AP or reloading a state read a moment ago never moves the shared counter. Returns how far
  // the counter moved.
  int64_t write_tsc(uint64_t value);

  // Called by the HLT handler.
  void halt() {
    st.events.halted = true;
    end_block = true;
  }
  // A fatal emulation problem: run() returns kError with this message.
  [[noreturn]] void fatal(std::string message);

  // Debug registers and single-step (debug.cpp). Call after writing DR0-DR3/DR7.
  void debug_regs_changed();
  // The run loop takes run_traced() instead of the block loop while this holds.
  bool debug_active() const {
    return (st.rflags & arch::rflags::kTF) || (st.dr7 & 0xff) || pending_db_;
  }
  // I/O breakpoints (DR7 R/W = 10b with CR4.DE): IN/OUT/INS/OUTS call this for each port
  // access; a match traps after the instruction (or after that REP iteration).
  void note_port_access(uint16_t port, unsigned size) {
    if (io_bp_mask_) [[unlikely]]
      check_io_bp(port, size);
  }
  // DR7.GD: a MOV to or from a debug register raises #DB (a fault) with DR6.BD set.
  void check_general_detect();
  // REP string instructions (string.cpp) stop after the iteration that must trap: the one
  // TF single-steps, or one that hit a data or I/O breakpoint.
  bool rep_iteration_traps() const {
    return (st.rflags & arch::rflags::kTF) || (debug_active() && data_hits_);
  }
  // Set by a REP string instruction that stopped between iterations and runs again from the
  // same RIP (cleared when a REP instruction starts): run_traced() keeps RF set, so its
  // instruction breakpoint is not taken again, and the next event delivered (a #DB or an
  // interrupt taken in between) pushes RF = 1 and clears it (SDM Vol. 3B §17.3.1.1).
  bool rep_resume = false;

  // ---- Translator internals (used by jit/; not an API for other modules) ----
  GuestFault jit_fault{};            // the fault a translated block stopped at
  std::exception_ptr jit_exception;  // any other exception from a handler it called
  jit::RunCounters jit_run;          // of the translated run in progress
  const uint64_t& jit_fallbacks_ref() const { return jit_fallbacks_; }
  const TlbEntry* jit_tlb() const { return &tlb_[0][0]; }
  const std::atomic<uint8_t>& jit_exit_request_ref() const { return exit_request_; }
  const uint64_t& jit_chain_gen_ref() const { return chain_gen_; }

 private:
  // A successor seen after a block ran to its end: the next RIP and its block, valid while
  // `gen` equals chain_gen_ + cr3_flushes_ + drops_ (chain_gen_ is bumped by every TLB flush
  // but a CR3 write's and by INVLPG, cr3_flushes_ by CR3 writes, drops_ when blocks go away:
  // the only ways the RIP → block mapping can change without a mode change). The indirect
  // lookup of translated code checks chain_gen_ alone: a CR3 write drops its non-global
  // entries one by one, and an entry for a dropped block leads to its retired translation,
  // which returns kNotRun (see jit::retire).
  struct Block;
  struct Link {
    uint64_t rip = 0;
    Block* to = nullptr;
    uint64_t gen = 0;
  };
  struct Block {
    uint64_t gpa = 0;
    x86::CodeMode mode = x86::CodeMode::k16;
    // The block ends with a near branch or no control transfer, so the code mode and CPL
    // after it are those it ran in: its successors may be chained.
    bool chainable = false;
    uint8_t next_link = 0;
    bool jit_user = false;    // translated for CPL 3 (its memory accesses use the user TLB)
    uint8_t size = 0;         // instructions
    bool insts_used = false;  // decoded() since the last sweep_decoded()
    uint32_t swept = 0;       // the last sweep that visited it (its key may be listed twice)
    // Its one instruction runs on into the next linear page (crossing_tails_ says which
    // guest-physical page that was): valid only while that page is still mapped there, so it
    // is entered through block_at_rip's check, never through a patched jump or the indirect
    // lookup.
    bool crosses = false;
    uint16_t bytes = 0;  // its length on its first page (a write elsewhere leaves it alone)
    uint32_t heat = 0;
    std::array<Link, 2> links{};
    // The decoded instructions, one allocation (their handler is handler_table()[op]).
    // Dropped once the block has a translation (which holds no pointer into them), and by
    // sweep_decoded() when the block has not run for a while: most of a boot's blocks then
    // cost their header only. decoded() brings them back.
    std::unique_ptr<x86::DecodedInst[]> insts;
    // The translation (a jit::BlockFn), valid while jit_gen is the code cache's generation;
    // made once the block has run kJitThreshold times through the interpreter.
    void* jit_code = nullptr;
    uint64_t jit_gen = 0;
  };
  Block* next_block(Block* prev);
  uint64_t read_slow(uint64_t la, unsigned size, bool user);
  void write_slow(uint64_t la, unsigned size, uint64_t v, bool user);
  void fill_tlb(uint64_t la, uint64_t gpa, Access acc, bool user, bool writable, bool dirty,
                bool nx, bool global);
  uint64_t walk(uint64_t la, Access acc, bool user, bool& writable, bool& nx, bool& global);
  // Code cache (block_cache.cpp).
  Block* block_at_rip();
  Block* decode_block(uint64_t gpa, uint64_t la, x86::CodeMode mode);
  // The guest-physical address of linear `la` for an instruction fetch (may #PF).
  uint64_t fetch_gpa(uint64_t la, bool user);
  // A block whose first instruction crosses the page at `la`'s end: decoded from the head
  // bytes at gpa and the tail at the next page's current translation, both pages marked as
  // code.
  Block* decode_crossing(uint64_t gpa, uint64_t la, x86::CodeMode mode);
  // The instruction bytes of crossing block `b` (head from its page, tail from `tail_gpa`).
  std::array<uint8_t, 15> crossing_bytes(uint64_t gpa, uint64_t tail_gpa);
  // `b` crosses a page: itself while its tail page is still mapped where it was decoded
  // from, else a block decoded again for the current mapping.
  Block* checked_crossing(Block* b, uint64_t la);
  Block* insert_block(std::unique_ptr<Block> block);
  // b's instructions, decoded again from its page if they were dropped.
  const x86::DecodedInst* decoded(Block* b) {
    if (!b->insts) [[unlikely]]
      redecode(b);
    b->insts_used = true;
    return b->insts.get();
  }
  void redecode(Block* b);
  void redecode_crossing(Block* b);
  // Drops the decoded instructions of blocks that did not run since the last sweep (code
  // that ran once, most of a boot's set-up code). Every kSweepPeriod new blocks. It visits
  // only the blocks that may hold decoded instructions (holding_insts_), not the whole cache:
  // a translated block drops them at once, so most of a boot's blocks hold none.
  static constexpr uint32_t kSweepPeriod = 2048;
  void sweep_decoded();
  // Registers block `key` as code on `page`, covering the 64-byte chunks of [from, to).
  void add_code(uint64_t page, uint64_t key, unsigned from, unsigned to);
  void mark_code_page(uint64_t gpa);
  // Drops every block on the page / the blocks overlapping [gpa, gpa + size) within one page.
  void invalidate_code_page(uint64_t page);
  void invalidate_code_range(uint64_t gpa, unsigned size);
  // Drops block `key` (from the index and from its pages' lists; a page left without
  // blocks is no code page any more); false if there is none.
  bool drop_block(uint64_t key);
  // Chained jumps, run-loop links and the jump cache may point at dropped blocks.
  void unlink_dropped_blocks();
  // Drops the code cached for pages devices wrote since the last look (GuestMemory's
  // DeviceWriteLog); all of it when the log ran past us.
  void forget_device_written_code();
  // A slow-path write to `gpa`: drops this vCPU's code there, and logs the write for the
  // other vCPUs when they hold code on the page.
  void note_code_write(uint64_t gpa, unsigned size);
  // Another vCPU started holding code somewhere: no fast write path to pages anyone holds.
  void withdraw_shared_write_paths();
  bool is_code_page(uint64_t gpa) const {
    const uint64_t p = gpa >> 12;
    return p < code_pages_.size() && code_pages_[p];
  }
  bool check_events();  // delivers a pending NMI / interrupt; true when one was delivered
  // debug.cpp: one instruction with the #DB checks around it; breakpoint matching.
  void run_traced(Block* b, uint64_t& budget);
  void check_instruction_bp();
  bool page_has_data_bp(uint64_t page) const;
  void check_data_bp(uint64_t la, unsigned size, bool write);
  void check_io_bp(uint16_t port, unsigned size);
  // Entering the #DB handler clears DR7.GD so that it can use the debug registers.
  void deliver_db(uint64_t dr6_bits);
  void deliver_fault(const GuestFault& f);
  StopReason run_blocks(uint64_t& budget);
  // Runs `b` (interpreted or translated); true when it ran to its end with no event.
  bool run_block(Block* b, uint64_t& budget);
  bool interpret_block(Block* b, uint64_t& budget);
  bool run_translated(Block* b, uint64_t& budget);  // jit/dispatch.cpp
  void jit_forget(Block* b);  // b is going away: no chained jump may reach its translation
  // A CR3 write: drops the indirect-lookup entries of RIPs on non-global pages; false when
  // it cannot tell them apart (the caller then bumps chain_gen_).
  bool jit_forget_local_lookups();

  unsigned index_;
  // The last few block start addresses, oldest first through recent_blocks(): a cheap branch
  // trace for diagnosing a guest that went astray (logged with faults at debug level).
  std::array<uint64_t, 16> recent_blocks_{};
  size_t recent_next_ = 0;
  bus::InterruptController* ic_ = nullptr;
  std::atomic<bool> stop_{false};
  std::atomic<uint8_t> exit_request_{0};  // see request_exit(); cleared by the run loop
  std::string error_;
  bool fatal_ = false, shutdown_ = false;
  bool nmi_blocked_ = false;
  bool dirty_ = false;  // the last walk found (or set) the leaf's dirty bit
  uint64_t retired_ = 0;
  uint64_t deliveries_ = 0;    // events delivered through the IDT/IVT (debug.cpp's INT n test)
  uint64_t pending_db_ = 0;    // DR6 bits of a #DB held back by MOV SS / POP SS
  unsigned data_bp_mask_ = 0;  // DR0-DR3 armed as data breakpoints
  unsigned io_bp_mask_ = 0;    // DR0-DR3 armed as I/O breakpoints (R/W = 10b)
  unsigned data_hits_ = 0;     // data breakpoints hit by the current (traced) instruction
  // guest TSC = host monotonic ns + *tsc_delta_ (1 GHz, see read_tsc). One counter per VM,
  // shared by its vCPUs (share_tsc), so their TSCs never drift apart (SMP guests check).
  std::shared_ptr<std::atomic<int64_t>> tsc_delta_ = std::make_shared<std::atomic<int64_t>>(0);
  const Clock* clock_ = nullptr;
  // IA32_TSC_ADJUST: the sum of what TSC and TSC_ADJUST writes moved this vCPU's TSC. The TSC
  // is shared, so a write moves every vCPU's (Linux writes it only when the TSCs disagree).
  int64_t tsc_adjust_ = 0;
  uint64_t host_ns() const;
  TlbEntry tlb_[2][kTlbSize];
  // The entries filled since the last flush (indices into tlb_ as one array), so a flush costs
  // what was used rather than both whole arrays. Global entries have their own list: Linux
  // reloads CR3 (which keeps them) some 3,000 times a second of boot, and the kernel's global
  // entries, most of what is filled, are then not walked. An index is in a list at most once.
  std::vector<uint16_t> tlb_filled_;
  std::vector<uint16_t> tlb_global_filled_;
  void list_tlb_entry(TlbEntry& e, bool global);
  static void reset_tlb_entry(TlbEntry& e) {
    const bool listed = e.listed, listed_global = e.listed_global;
    e = TlbEntry{};
    e.listed = listed;
    e.listed_global = listed_global;
  }
  template <class Fn>
  void for_each_filled_tlb_entry(Fn&& fn);
  x86::Decoder decoder_;
  std::vector<x86::DecodedInst> decode_scratch_;  // decode_block's buffer
  // Keys of the blocks given decoded instructions since they were last swept without them
  // (a key may outlive its block: the sweep skips those).
  std::vector<uint64_t> holding_insts_;
  uint32_t sweeps_ = 0;
  std::vector<uint8_t> code_pages_;               // per guest-physical page: holds decoded code
  uint64_t device_writes_seen_ = 0;               // DeviceWriteLog sequence number already applied
  std::shared_ptr<SharedCodePages> shared_code_;  // the VM's (share_code_pages) or our own
  uint64_t code_marks_seen_ = 0;                  // shared_code_->marks() already applied
  KeyTable<std::unique_ptr<Block>> blocks_;       // key: gpa << 2 | mode
  // The blocks decoded from a page, and which of its 64-byte chunks they cover (a superset:
  // bits are cleared only when the last block goes), so a write to the page's data
  // elsewhere costs one lookup and drops nothing.
  struct PageCode {
    uint64_t chunks = 0;
    std::vector<uint64_t> keys;
  };
  std::unordered_map<uint64_t, PageCode> page_blocks_;  // page → its code
  std::vector<std::unique_ptr<Block>> dead_blocks_;     // freed at the next block boundary
  uint32_t blocks_until_sweep_ = kSweepPeriod;
  std::array<Block*, 1024> jump_cache_{};
  uint64_t chain_gen_ = 1;  // see Link
  // The linear pages (hashed into 64 Ki bits) the run loop fetched blocks from since chain_gen_
  // last changed: every RIP a run-loop link or an indirect-lookup entry of this generation
  // holds, and the second pages of crossing blocks. An INVLPG of any other page changes no
  // RIP → block mapping they record, so it needs no new generation (Linux's INVLPGs are
  // mostly of data pages; each new generation empties the whole lookup).
  std::array<uint64_t, 1024> fetched_pages_{};
  static uint64_t fetched_page_bit(uint64_t la) { return (la >> 12) & 0xffff; }
  void note_fetched_page(uint64_t la) {
    const uint64_t bit = fetched_page_bit(la);
    fetched_pages_[bit >> 6] |= 1ull << (bit & 63);
  }
  bool maybe_fetched_page(uint64_t la) const {
    const uint64_t bit = fetched_page_bit(la);
    return fetched_pages_[bit >> 6] >> (bit & 63) & 1;
  }
  void new_chain_gen() {
    ++chain_gen_;
    fetched_pages_.fill(0);
  }
  // CR3 writes that kept global translations: run-loop links are valid while their gen is
  // chain_gen_ + cr3_flushes_ + drops_ (a CR3 write does not bump chain_gen_, see flush_tlb).
  uint64_t cr3_flushes_ = 0;
  uint64_t drops_ = 0;  // unlink_dropped_blocks() calls (see Link)
  std::unordered_map<uint64_t, uint64_t> crossing_tails_;  // crossing block key → tail page gpa
  ExecMode exec_mode_ = default_exec_mode();
  uint32_t jit_threshold_ = default_jit_threshold(kJitThreshold);
  std::unique_ptr<jit::Jit> jit_;  // created at the first translation
  uint64_t jit_fallbacks_ = 0;     // instructions translated code ran through a handler

  friend struct CpuTestAccess;
};

template <class Fn>
void Cpu::for_each_filled_tlb_entry(Fn&& fn) {
  TlbEntry* all = &tlb_[0][0];
  for (uint16_t i : tlb_filled_) fn(all[i]);
  for (uint16_t i : tlb_global_filled_) fn(all[i]);
}

// The dispatch table, indexed by DecodedInst::op; filled by the interp/ files.
using HandlerTable = std::array<Handler, 2048>;
const HandlerTable& handler_table();

}  // namespace vessel::engine::emu
