// Emitter: the xbyak code generator for one block, with the conventions of translated code.
//
// Registers: rbx = Cpu* (callee-saved, so it survives calls into C++). rbp = the run's
// RunCounters::meter (budget and exit count), loaded by the shared entry and stored back by the
// shared epilogue (Cpu::jit_run): every block transition updates it, and in a register that is
// not a memory read-modify-write. Within one instruction r13 holds a memory operand's
// offset, r14 a value to store; r15 holds the host flags (a pushfq image) of the last
// flag-setting instruction while they are not yet merged into st.rflags (callee-saved: it
// survives the slow-path calls); rax, rcx, rdx, rsi, rdi are scratch. r8-r12 hold the
// guest GPRs the block caches (reg_cache.hpp) from its entries to its exits: CpuState::gpr is
// behind them (only the `dirty` ones) until an exit writes them back or a handler call needs
// the whole state. [rsp] is a spill slot for slow-path results, [rsp+8..39] where slow-path
// calls keep r8-r11 (caller-saved; r12 and rbp survive the call).
//
// Guest arithmetic flags live in up to three places, tracked at translation time: the host
// EFLAGS right after a native flag-setting operation (`host_flags`: until emitted glue clobbers
// them), r15 (`saved_flags`), and st.rflags (everything else). A consumer (Jcc/SETcc/CMOVcc,
// ADC/SBB, MUL) uses the host flags when they hold what it reads and otherwise tests r15 or
// st.rflags directly (no popfq). Live flags only in the host (`unsaved_flags`) are saved into
// r15 (pushfq; pop r15) just before glue clobbers the host flags, so a producer whose consumer
// follows it at once (cmp; jcc) saves nothing. Saved flags are merged into st.rflags before
// handler and slow-path calls, where C++ code sees them. Between blocks r15 holds all of them:
// a block starts with every flag saved, each exit first takes into r15 those that were in
// st.rflags (none, mostly: no memory write per block transition), and only the shared
// epilogue, on the way back to C++, merges r15 into st.rflags, so st.rflags is exact there
// (faults included). Glue that clobbers host flags between two instructions must call
// clobber_flags() first (access_mem, add_rip, emit_call, ... do).
//
// RIP and the budget are not updated per instruction: `pending` counts the bytes of
// instructions done since st.rip was last stored, and each exit adds its own counts (the
// budget spent is the retired count, which run_translated adds up after the run). So st.rip
// is exact wherever C++ code can see it (handler and slow-path calls, exits).
#pragma once

#include <vector>

#include <xbyak/xbyak.h>

#include "engine/emu/jit/jit.hpp"
#include "engine/emu/jit/reg_cache.hpp"

namespace vessel::engine::emu::jit {

inline constexpr uint32_t kArithFlags = 0x8d5;  // OF SF ZF AF PF CF

struct Emitter : Xbyak::CodeGenerator {
  // One per Jit, reused for every block: begin() starts a block at the cache's free pointer.
  explicit Emitter(Jit& j)
      : Xbyak::CodeGenerator(j.cache.free_bytes(), j.cache.free_ptr()), jit(j), lay(j.layout) {
    exits_.reserve(8);
    slow_.reserve(8);
    jumps_.reserve(24);
  }
  // Forgets the last block (or what an exception left of it) and starts this one.
  void begin(uint64_t block_gpa, x86::CodeMode code_mode, bool user_mode, RegCache reg_cache);

  Xbyak::Address gpr64(unsigned r) { return qword[rbx + lay.gpr + 8 * static_cast<int>(r)]; }
  Xbyak::Address field64(int32_t off) { return qword[rbx + off]; }
  uint64_t ip_mask() const {
    return mode == x86::CodeMode::k64 ? ~0ull : mode == x86::CodeMode::k32 ? 0xffffffffull : 0xffff;
  }
  void wrap_ip(const Xbyak::Reg64& r);  // r &= ip_mask()
  void add_rip(int64_t n);              // st.rip += n (wrapped)
  void sub_rip(unsigned n);

  // One of the block's exits (an index: exits are code after the instructions, reached by
  // rel32 jumps filled in by resolve_jumps(); no xbyak labels, which cost allocations).
  struct ExitRef {
    uint32_t index;
  };
  // An exit: commits `retired` instructions and `rip_delta` bytes of RIP, returns `status`.
  ExitRef exit(uint32_t status, unsigned retired, int64_t rip_delta);
  // The exit of a block that ran to its end towards `target`, bytes from the block's start:
  // a patchable direct exit when chaining allows it (see Header), an indirect-lookup exit
  // for a target in another page of 64-bit code, else exit(kRanToEnd).
  ExitRef direct_exit(unsigned retired, int64_t rip_delta, int64_t target);
  // Marks here (right after the block's entries load the cached GPRs) as the head of the
  // block's loop: a direct exit back to the block's start then jumps here, not through the
  // chained entry, when no event is pending and the budget covers another pass, with the
  // cached GPRs staying in their host registers. From here on they all count as dirty, since
  // a later pass may exit without writing the ones an earlier pass wrote.
  void mark_loop_head(unsigned block_insts) {
    loop_head = static_cast<uint32_t>(getSize());
    loop_insts = block_insts;
    dirty = regs.mask;
  }
  // The exit after a near indirect transfer (st.rip already set): probes the indirect lookup.
  ExitRef indirect_exit(unsigned retired);
  // Condition nibbles (the low nibble of the Jcc opcode) the glue jumps on.
  static constexpr unsigned kCcB = 2, kCcE = 4, kCcNe = 5;
  // jmp / jcc (`cc`: the low nibble of the Jcc opcode) to exit `x`, rel32.
  void jmp_exit(ExitRef x) { jump_to(-1, x.index, false); }
  void jcc_exit(unsigned cc, ExitRef x) { jump_to(static_cast<int>(cc & 15), x.index, false); }
  // What an exit retiring `retired` instructions takes off RunCounters::meter.
  static int metered(unsigned retired) {
    static_assert(Cpu::kMaxBlockInsts < (1u << (31 - RunCounters::kExitBits)));
    return static_cast<int>((retired << RunCounters::kExitBits) - 1);
  }
  // The exits' code: each commits its counts, then jumps to the shared stub that returns its
  // status (SharedStubs), to its patchable jump, or to the shared indirect lookup.
  void emit_exits();
  // The slow paths of the block's memory accesses (after its exits): calls of the shared
  // SharedStubs::slow_read / slow_write.
  void emit_slow_paths();
  // Fills in the rel32 of every jump to an exit or a slow path (after both are emitted).
  void resolve_jumps();
  // The current instruction's target `rel` bytes after it, from the block's start.
  int64_t target_of(int64_t rel) const { return offset + length + rel; }
  // Whether near branches of operand size `opsize` wrap like RIP does (so that a target is
  // RIP plus a constant).
  bool ip_sized(unsigned opsize) const { return ip_mask() == (~0ull >> (64 - 8 * opsize)); }

  // ---- The block's cached guest GPRs (reg_cache.hpp) ----
  // The cache's host registers in order (reg_cache.hpp): the caller-saved ones first.
  static constexpr int kHostRegs[kCacheRegs] = {8, 9, 10, 11, 12};
  static Xbyak::Reg64 host_reg(unsigned i) { return Xbyak::Reg64(kHostRegs[i]); }
  static bool is_cache_reg(const Xbyak::Reg& r) {
    for (const int idx : kHostRegs)
      if (r.getIdx() == idx) return true;
    return false;
  }
  // The host register holding guest GPR `reg` (0-15) for the whole block, if it is cached.
  bool cached(unsigned reg) const { return regs.has(reg); }
  Xbyak::Reg64 host_of(unsigned reg) const {
    return host_reg(static_cast<unsigned>(regs.host[reg]));
  }
  // The cached GPRs from CpuState (block entry, after a handler call).
  void load_cached();
  // Writes the `mask` cached GPRs back to CpuState.
  void store_cached(uint16_t mask);
  // A native emitter wrote cached GPR `reg` in its host register itself.
  void mark_dirty(unsigned reg) { dirty |= static_cast<uint16_t>(1u << reg); }

  // ---- Operands of the current instruction (native_*.cpp) ----
  // Guest register `reg` (0-15, all 64 bits) into host register `dst`.
  void load_gpr(const Xbyak::Reg64& dst, unsigned reg) {
    if (!cached(reg))
      mov(dst, gpr64(reg));
    else if (dst.getIdx() != host_of(reg).getIdx())
      mov(dst, host_of(reg));
  }
  // A register holding guest GPR `reg` for reading: its cached host register, else `scratch`
  // loaded from CpuState.
  Xbyak::Reg64 gpr_source(unsigned reg, const Xbyak::Reg64& scratch) {
    if (cached(reg)) return host_of(reg);
    mov(scratch, gpr64(reg));
    return scratch;
  }
  // Stores `src` at `size` with the partial-write rules (8/16 merge, 32 zero-extends).
  void store_gpr(unsigned reg, unsigned size, const Xbyak::Reg64& src);
  // r13 = the operand's offset (wrapped to the address size).
  void effective_address(const x86::Operand& op, unsigned addrsize);
  // Memory at segment `seg`, offset r13: load into rax (zero-extended) / store r14. On a
  // fault, leaves the block with the instruction not done.
  void load_mem(unsigned seg, unsigned size);
  // A 4- or 8-byte load straight into `dst` (a cached GPR's host register: a 4-byte load
  // zero-extends, as the guest's MOV r32 does); rax is clobbered all the same.
  void load_mem_to(unsigned seg, unsigned size, const Xbyak::Reg64& dst);
  void store_mem(unsigned seg, unsigned size);
  // ---- Guest arithmetic flags (see the top of this file) ----
  // Host EFLAGS = every guest arithmetic flag (one-operand MUL's undefined flags); uses rax.
  void guest_flags_to_host();
  // Host CF = guest CF (ADC/SBB).
  void carry_to_host();
  // The host condition to use (low nibble of Jcc) for guest condition `cc`: `cc` itself when
  // the host flags hold what it reads, else a test of r15 or st.rflags (rsi, rdi) and z/nz.
  unsigned condition(unsigned cc);
  // Before a flag-writing instruction loads its operands: merges r15 into st.rflags where the
  // instruction's own save into r15 (of the `keep` flags out of `writes`) would lose flags
  // still only there, or where its memory store (which may fault after the operation) could
  // leave the block with r15 already overwritten.
  // `kept_cf`: the instruction keeps CF (INC/DEC), which keep_carry() puts back in the host
  // from r15 right before the operation (bt) instead.
  void prepare_flags(uint32_t writes, uint32_t keep, bool loads_mem, bool stores_mem,
                     bool kept_cf = false);
  void keep_carry(uint32_t keep);
  // Right after the operation: the host holds `writes` (and still what it held of the rest),
  // of which `keep` are live. `defer`: the instruction's write back cannot fault (GPR or none),
  // so the live flags wait in the host; else they are saved into r15 now (pushfq; pop r15:
  // host flags unchanged) and count as the guest's after flags_committed (past the store).
  void flags_written(uint32_t writes, uint32_t keep, bool defer);
  void flags_committed(uint32_t writes, uint32_t keep) {
    saved_flags = (saved_flags & ~writes) | keep;
  }
  // Emitted glue is about to clobber the host flags: saves the unsaved ones into r15 first.
  void clobber_flags();
  // Merges the flags not yet in st.rflags into it now (clobbers the host flags).
  void materialize();
  // The code of a merge of r15 into st.rflags under `mask` (rdi; clobbers host flags);
  // leaves the translation-time state alone (for code paths that rejoin).
  void emit_merge(uint32_t mask);
  // The reverse, at exits: r15 takes the `mask` bits of st.rflags (rdi; clobbers host flags).
  void emit_take(uint32_t mask);

  Jit& jit;
  const Layout& lay;
  uint64_t gpa = 0;  // of the block's first byte
  x86::CodeMode mode = x86::CodeMode::k64;
  bool user = false;
  unsigned pending = 0;       // RIP bytes done but not yet stored
  unsigned index = 0;         // the instruction being translated (= instructions retired before it)
  unsigned offset = 0;        // its offset in the block
  unsigned length = 0;        // its length
  bool wrote_memory = false;  // it stored to memory (a slow store may invalidate the block)
  bool sets_rip = false;      // it stored st.rip itself (branches): pending is 0 after it
  bool ended = false;         // it jumped to the block's exits itself (chained branches)
  uint32_t flags_live = 0x8d5;  // arithmetic flags live after it (lazy flags: only these saved)
  uint32_t host_flags = 0;      // guest arithmetic flags the host EFLAGS hold at this point
  // Guest arithmetic flags in r15, not yet in st.rflags: all of them at the block's entries.
  uint32_t saved_flags = kArithFlags;
  uint32_t unsaved_flags = 0;  // live guest flags only in the host flags (within host_flags)
  RegCache regs;               // the guest GPRs in r8-r12
  // The cached GPRs written since CpuState last had them, at this point of the emission (the
  // code is straight-line: every exit takes the mask of the place that jumps to it).
  uint16_t dirty = 0;
  uint32_t loop_head = 0;   // offset of the loop head (mark_loop_head), 0: none
  unsigned loop_insts = 0;  // the instructions of a pass

 private:
  // The inline TLB check of the access at r13 (plus the FS/GS base): jumps to `miss` unless
  // the entry holds its page (`tag`: 0 read, 1 write); the host address is the RegExp returned.
  // `slow`: the index of the access's slow path (the miss).
  Xbyak::RegExp tlb_lookup(unsigned seg, unsigned size, int tag, uint32_t slow);
  void flat_check(unsigned seg, bool store, uint32_t slow);
  void access_mem(unsigned seg, unsigned size, bool store, int load_to = Xbyak::Operand::RAX);
  void emit_direct_stub(uint64_t target_gpa);
  // kLoop: a kDirect exit to the block's own start, which first tries another pass.
  enum class ExitKind : uint8_t { kPlain, kDirect, kIndirect, kLoop };
  struct Exit {
    uint32_t pos;  // of its code, once emitted
    uint32_t status;
    unsigned retired;
    int64_t rip_delta;
    ExitKind kind;
    uint64_t target_gpa;
    uint32_t merge;  // saved_flags | unsaved_flags at the jumps to it
    bool save;       // unsaved_flags were not 0: pushfq; pop r15 first
    uint16_t dirty;  // cached GPRs it writes back
  };
  void emit_loop_pass(const Exit& x);
  ExitRef find_exit(uint32_t status, unsigned retired, int64_t rip_delta, ExitKind kind,
                    uint64_t target_gpa);
  // An exit merges the flags not yet in st.rflags at the jump to it (part of its identity).
  std::vector<Exit> exits_;
  struct SlowPath {
    uint32_t pos;   // of its code, once emitted
    uint32_t done;  // where it goes back to: right after the access
    unsigned seg, size;
    bool store;
    unsigned pending;  // RIP bytes not stored at the access
    uint32_t merge;    // flags in r15 to merge into st.rflags before the call
    ExitRef fault;     // the exit if it faults
    int load_to;       // the register a load's value goes to (rax, or load_mem_to's)
  };
  std::vector<SlowPath> slow_;
  // A jmp (`cc` -1) or jcc rel32 whose rel32 is still 0: the rel32's offset, for set_rel32().
  uint32_t rel32_jump(int cc);
  // Points the rel32 at offset `at` to offset `to` of the block's code.
  void set_rel32(uint32_t at, uint32_t to);
  // A rel32 jump (`cc` -1: jmp) to exit or slow path `target`, filled in by resolve_jumps().
  void jump_to(int cc, uint32_t target, bool slow);
  struct Jump {
    uint32_t at;  // of the rel32
    uint32_t target;
    bool slow;
  };
  std::vector<Jump> jumps_;
};

// The frame SharedStubs::enter makes below the six saved registers: [rsp] the spill slot,
// [rsp+8..39] r8-r11's slots (see Emitter). Calls from translated code are 16-byte aligned.
inline constexpr int kFrame = 8 + 8 * kCallerSavedCacheRegs;
static_assert((8 + 6 * 8 + kFrame) % 16 == 0);

// Native translation of the current instruction (native_*.cpp); false when its family or
// form is not handled (nothing emitted), and the caller emits a handler call instead.
bool emit_native(Emitter& e, const x86::DecodedInst& in);
bool emit_alu(Emitter& e, const x86::DecodedInst& in);
bool emit_move(Emitter& e, const x86::DecodedInst& in);
bool emit_branch(Emitter& e, const x86::DecodedInst& in);

// Operand forms the native translators take.
inline bool is_gpr(const x86::Operand& op) {
  return op.kind == x86::OpKind::kGpr && op.reg < 16;
}
inline bool is_rm(const x86::Operand& op) {
  return is_gpr(op) || op.kind == x86::OpKind::kMem;
}

// Slow paths called from translated code (guarded_call.cpp): 0, or kFault with the fault
// recorded in the Cpu.
uint32_t slow_read(Cpu* cpu, uint64_t seg, uint64_t offset, uint64_t size, uint64_t* out) noexcept;
uint32_t slow_write(Cpu* cpu, uint64_t seg, uint64_t offset, uint64_t size, uint64_t v) noexcept;

}  // namespace vessel::engine::emu::jit
