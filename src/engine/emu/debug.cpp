// Debug facilities of the software CPU (SDM Vol. 3B ch. 17): TF single-step traps, DR0-DR3
// instruction breakpoints (faults), data and I/O breakpoints (traps), general detect (DR7.GD),
// DR6 status bits, RF.
//
// While TF is set, a breakpoint is enabled in DR7 or a #DB is pending, the run loop executes
// one instruction per block through run_traced(), which checks for debug exceptions around
// it; the ordinary path pays one test per block. Data breakpoints are seen on the slow memory
// path: TLB entries for a page holding an armed data breakpoint never take the fast path. I/O
// breakpoints are seen by the port accessors (interp/io.cpp).
//
// DR6: B0-B3 are rewritten by each #DB that matched a breakpoint (a #DB for single-step only
// leaves them); BS, BD and BT (a task switch into a TSS with its T bit set, task_switch.cpp)
// are only ever set, software clears them. Entering the #DB handler clears DR7.GD.
//
// Choices where the SDM leaves room: a single-step trap is not taken after an instruction that
// delivered an interrupt or exception itself (INT n, INT3, INT1, INTO with OF: the handler
// starts with TF clear, as on hardware and QEMU; the IRET back restores TF, whose trap comes
// after the instruction following the IRET). REP string instructions trap after each
// iteration under TF and after the iteration that hit a data or I/O breakpoint (string.cpp
// stops there). Any event taken between REP iterations pushes RF = 1 (exceptions.cpp).
#include <Zydis/Mnemonic.h>

#include "engine/emu/cpu.hpp"

namespace vessel::engine::emu {

using namespace arch;

namespace {
constexpr uint64_t kDr6Bd = 1ull << 13;  // general detect
constexpr uint64_t kDr6Bs = 1ull << 14;  // single step
constexpr uint64_t kDr6Bt = 1ull << 15;  // task switch
constexpr uint64_t kDr7Gd = 1ull << 13;

unsigned bp_rw(uint64_t dr7, unsigned n) {
  return (dr7 >> (16 + 4 * n)) & 3;
}
bool bp_enabled(uint64_t dr7, unsigned n) {
  return (dr7 >> (2 * n)) & 3;
}
uint64_t bp_len(uint64_t dr7, unsigned n) {
  static constexpr uint64_t kLen[4] = {1, 2, 8, 4};  // LEN encodings 00, 01, 10, 11
  return kLen[(dr7 >> (18 + 4 * n)) & 3];
}

// MOV SS and POP SS hold debug exceptions back until after the next instruction (§6.8.3).
bool loads_ss(const x86::DecodedInst& in) {
  return (in.op == ZYDIS_MNEMONIC_MOV || in.op == ZYDIS_MNEMONIC_POP) &&
         in.ops[0].kind == x86::OpKind::kSeg && in.ops[0].reg == kSs;
}
}  // namespace

void Cpu::debug_regs_changed() {
  unsigned mask = 0, io = 0;
  for (unsigned n = 0; n < 4; ++n) {
    const unsigned rw = bp_rw(st.dr7, n);
    if (bp_enabled(st.dr7, n) && (rw == 1 || rw == 3)) mask |= 1u << n;
    if (bp_enabled(st.dr7, n) && rw == 2) io |= 1u << n;
  }
  data_bp_mask_ = mask;
  io_bp_mask_ = io;
  flush_tlb(false);  // pages with (or no longer with) a data breakpoint change path
}

bool Cpu::page_has_data_bp(uint64_t page) const {
  for (unsigned n = 0; n < 4; ++n)
    if ((data_bp_mask_ >> n) & 1) {
      const uint64_t len = bp_len(st.dr7, n), base = st.dr[n] & ~(len - 1);
      if (base < page + 4096 && page < base + len) return true;
    }
  return false;
}

void Cpu::check_data_bp(uint64_t la, unsigned size, bool write) {
  for (unsigned n = 0; n < 4; ++n)
    if ((data_bp_mask_ >> n) & 1) {
      if (bp_rw(st.dr7, n) == 1 && !write) continue;
      const uint64_t len = bp_len(st.dr7, n), base = st.dr[n] & ~(len - 1);
      if (base < la + size && la < base + len) data_hits_ |= 1u << n;
    }
}

// R/W = 10b means I/O only with CR4.DE = 1 (undefined otherwise: no breakpoint here). The
// port range matches like a data range, the address being the port number.
void Cpu::check_io_bp(uint16_t port, unsigned size) {
  if (!(st.cr4 & cr4::kDE)) return;
  for (unsigned n = 0; n < 4; ++n)
    if ((io_bp_mask_ >> n) & 1) {
      const uint64_t len = bp_len(st.dr7, n), base = st.dr[n] & 0xffff & ~(len - 1);
      if (base < uint64_t{port} + size && port < base + len) data_hits_ |= 1u << n;
    }
}

void Cpu::check_general_detect() {
  if (!(st.dr7 & kDr7Gd)) return;
  st.dr6 |= kDr6Bd;
  st.dr7 &= ~kDr7Gd;  // the handler may use the debug registers (SDM Vol. 3B §17.2.4)
  raise(vec::kDB);    // a fault: RIP stays at the MOV
}

void Cpu::deliver_db(uint64_t bits) {
  if (bits & 0xf) st.dr6 = (st.dr6 & ~0xfull) | (bits & 0xf);  // B0-B3 of this #DB
  st.dr6 |= bits & (kDr6Bs | kDr6Bd | kDr6Bt);                 // sticky until software clears
  st.dr7 &= ~kDr7Gd;  // as on every entry to the #DB handler
  deliver(vec::kDB, false, 0, false, st.rip);
}

void Cpu::task_switch_trap() {
  deliver_db(kDr6Bt);  // RIP is the new task's first instruction
  next_rip = st.rip;   // from JMP/CALL/IRET: the instruction ends in the #DB handler
  end_block = true;
}

void Cpu::check_instruction_bp() {
  if ((st.rflags & rflags::kRF) || !(st.dr7 & 0xff)) return;
  const uint64_t la = mode64() ? st.rip : (st.seg[kCs].base + st.rip) & 0xffffffffull;
  uint64_t hits = 0;
  for (unsigned n = 0; n < 4; ++n)
    if (bp_enabled(st.dr7, n) && bp_rw(st.dr7, n) == 0 && st.dr[n] == la) hits |= 1u << n;
  if (!hits) return;
  st.dr6 = (st.dr6 & ~0xfull) | hits;
  st.dr7 &= ~kDr7Gd;  // as on every entry to the #DB handler
  raise(vec::kDB);    // a fault: RIP stays at the instruction; the handler sets RF to go on
}

void Cpu::run_traced(Block* b, uint64_t& budget) {
  const x86::DecodedInst& inst = decoded(b)[0];
  const uint64_t ip_mask = b->mode == x86::CodeMode::k64   ? ~0ull
                           : b->mode == x86::CodeMode::k32 ? 0xffffffffull
                                                           : 0xffffull;
  const bool shadow = st.events.interrupt_shadow;
  const bool tf = st.rflags & rflags::kTF, rf = st.rflags & rflags::kRF;
  const uint64_t deliveries = deliveries_;
  data_hits_ = 0;
  end_block = false;
  rep_resume = false;
  next_rip = (st.rip + inst.length) & ip_mask;
  handler_table()[inst.op](*this, inst);
  st.rip = next_rip;
  ++retired_;
  --budget;
  if (shadow) st.events.interrupt_shadow = false;
  // RF is cleared once an instruction completes; an IRET that just loaded it keeps it for the
  // next instruction, and a REP string instruction stopped between iterations keeps it until
  // its last iteration (SDM Vol. 3B §17.3.1.1).
  if (rf) st.rflags &= ~rflags::kRF;
  if (rep_resume) st.rflags |= rflags::kRF;

  uint64_t bits = data_hits_;
  data_hits_ = 0;
  if (tf && deliveries_ == deliveries) bits |= kDr6Bs;
  if (loads_ss(inst)) {
    pending_db_ |= bits;
    return;
  }
  bits |= pending_db_;
  pending_db_ = 0;
  if (!bits) return;
  deliver_db(bits);  // a trap: returns to the next instruction
}

}  // namespace vessel::engine::emu
