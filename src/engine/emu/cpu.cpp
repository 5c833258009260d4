// The CPU's run loop: blocks from the code cache, one handler call per instruction, faults
// caught here and delivered through the IDT, and external events at block boundaries.
#include "engine/emu/cpu.hpp"
#include "base/log.hpp"
#include "engine/emu/jit/jit.hpp"

#include <time.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace vessel::engine::emu {

using namespace arch;

namespace {
// Internal marker for fatal(): unwinds out of the instruction to run().
struct FatalStop {};

const MonotonicClock kHostClock;
}  // namespace

void raise(uint8_t vector) {
  throw GuestFault{vector, false, 0};
}
void raise(uint8_t vector, uint32_t error) {
  throw GuestFault{vector, true, error};
}

Cpu::Cpu(const memory::GuestMemory& memory, bus::IoHandler& io_handler, unsigned index)
    : io(io_handler), mem(memory), index_(index) {
  st = reset_state();
  uint64_t top = 0;
  for (const auto& r : memory.regions()) top = std::max(top, r.end());
  code_pages_.assign(top >> 12, 0);
  shared_code_ = std::make_shared<SharedCodePages>(top >> 12);
  device_writes_seen_ = memory.device_writes().seq();
  tlb_filled_.reserve(2 * kTlbSize);
  tlb_global_filled_.reserve(2 * kTlbSize);
  state_changed();
}

Cpu::~Cpu() = default;

void Cpu::state_changed() {
  debug_regs_changed();
  flush_tlb(false);
  jump_cache_.fill(nullptr);
  write_tsc(st.tsc);
}

uint64_t Cpu::host_ns() const {
  return static_cast<uint64_t>((clock_ ? *clock_ : kHostClock).now_ns());
}

uint64_t Cpu::read_tsc() const {
  return host_ns() + static_cast<uint64_t>(tsc_delta_->load(std::memory_order_relaxed));
}

int64_t Cpu::write_tsc(uint64_t value) {
  const int64_t distance = static_cast<int64_t>(value - read_tsc());
  if (distance > -1'000'000'000 && distance < 1'000'000'000) return 0;
  tsc_delta_->store(static_cast<int64_t>(value - host_ns()), std::memory_order_relaxed);
  return distance;
}

void Cpu::fatal(std::string message) {
  error_ = std::move(message) + "\n" + format_registers(st);
  fatal_ = true;
  throw FatalStop{};
}

StopReason Cpu::run(uint64_t max_instructions) {
  uint64_t budget = max_instructions;
  StopReason r;
  try {
    r = run_blocks(budget);
  } catch (const FatalStop&) {
    r = StopReason::kError;
  }
  st.tsc = read_tsc();
  return r;
}

// The block at RIP: through `prev`'s links when `prev` (the block that just ran to its end
// with no event in between) knows it, else from the code cache, then linked to `prev`.
Cpu::Block* Cpu::next_block(Block* prev) {
  const uint64_t gen = chain_gen_ + cr3_flushes_ + drops_;
  if (prev) {
    for (const Link& l : prev->links)
      if (l.rip == st.rip && l.gen == gen) return l.to;
  }
  Block* b = block_at_rip();
  if (prev && prev->chainable) {
    prev->links[prev->next_link] = Link{st.rip, b, gen};
    prev->next_link ^= 1;
  }
  return b;
}

StopReason Cpu::run_blocks(uint64_t& budget) {
  if (fatal_) return StopReason::kError;
  if (shutdown_) return StopReason::kShutdown;
  Block* prev = nullptr;
  for (;;) {
    if (stop_.load(std::memory_order_relaxed) && stop_.exchange(false))
      return StopReason::kInterrupted;
    // Cleared before looking at events, so a request made after this look is not lost.
    if (exit_request_.load(std::memory_order_relaxed)) [[unlikely]]
      exit_request_.store(0, std::memory_order_relaxed);
    if (check_events()) prev = nullptr;
    if (shared_code_->marks() != code_marks_seen_) [[unlikely]]
      withdraw_shared_write_paths();
    if (mem.device_writes().seq() != device_writes_seen_) [[unlikely]] {
      forget_device_written_code();
      prev = nullptr;
    }
    if (shutdown_) return StopReason::kShutdown;
    if (st.events.halted) return StopReason::kHalt;
    if (budget == 0) return StopReason::kInstructionLimit;
    recent_blocks_[recent_next_++ % recent_blocks_.size()] = st.rip;
    try {
      Block* const from = prev;
      prev = nullptr;
      if (debug_active()) [[unlikely]] {
        check_instruction_bp();  // a fault, before the instruction's fetch
        run_traced(next_block(nullptr), budget);
        continue;
      }
      Block* b = next_block(from);
      if (run_block(b, budget)) prev = b;  // ran to its end: chain its successor
    } catch (const GuestFault& f) {
      deliver_fault(f);
    }
  }
}

bool Cpu::run_block(Block* b, uint64_t& budget) {
  // A block in an interrupt shadow is interpreted: the shadow ends after its first instruction.
  if (exec_mode_ == ExecMode::kJit && !st.events.interrupt_shadow) {
    if (b->heat >= jit_threshold_) return run_translated(b, budget);
    ++b->heat;
  }
  if (jit_) ++jit_->interpreted_runs;
  return interpret_block(b, budget);
}

bool Cpu::interpret_block(Block* b, uint64_t& budget) {
  const uint64_t ip_mask = b->mode == x86::CodeMode::k64   ? ~0ull
                           : b->mode == x86::CodeMode::k32 ? 0xffffffffull
                                                           : 0xffffull;
  const size_t n = b->size;
  const x86::DecodedInst* insts = decoded(b);
  const HandlerTable& table = handler_table();
  end_block = false;
  for (size_t i = 0; i < n; ++i) {
    const x86::DecodedInst& inst = insts[i];
    const bool shadow = st.events.interrupt_shadow;
    next_rip = (st.rip + inst.length) & ip_mask;
    table[inst.op](*this, inst);
    st.rip = next_rip;
    ++retired_;
    if (shadow) {  // the shadowed instruction is done: look at interrupts now
      st.events.interrupt_shadow = false;
      end_block = true;
    }
    st.rflags &= ~rflags::kRF;
    if (--budget == 0 || end_block) return false;
  }
  return true;
}

std::vector<uint64_t> Cpu::recent_blocks() const {
  std::vector<uint64_t> out;
  for (size_t i = 0; i < recent_blocks_.size(); ++i)
    out.push_back(recent_blocks_[(recent_next_ + i) % recent_blocks_.size()]);
  return out;
}

// Exception classes for the double-fault rules (SDM Vol. 3A §6.15, Table 6-5).
static int fault_class(uint8_t v) {
  if (v == vec::kPF) return 2;
  if (v == vec::kDE || (v >= vec::kTS && v <= vec::kGP)) return 1;  // contributory
  return 0;                                                         // benign
}

void Cpu::deliver_fault(const GuestFault& first) {
  if (log::level() >= log::Level::kDebug)
    log::debug("vCPU {}: exception {} error {:#x} at {:#x} (cr2 {:#x}); recent blocks: {:#x}",
               index_, first.vector, first.error, st.rip, st.cr2, fmt::join(recent_blocks(), " "));
  GuestFault f = first;
  int prev_class = -1;
  bool in_df = false;
  for (;;) {
    try {
      deliver(f.vector, f.has_error, f.error, false, st.rip, true);
      return;
    } catch (const GuestFault& nested) {
      if (in_df) {
        shutdown_ = true;
        error_ = fmt::format("triple fault (#{} while delivering #DF)\n{}", nested.vector,
                             format_registers(st));
        return;
      }
      const int cur = fault_class(f.vector), next = fault_class(nested.vector);
      prev_class = cur;
      if ((cur == 1 && next == 1) || (cur == 2 && next >= 1)) {
        f = GuestFault{vec::kDF, true, 0};
        in_df = true;
      } else {
        f = nested;  // benign combinations: deliver the second one serially
      }
    }
  }
  (void)prev_class;
}

bool Cpu::check_events() {
  // NMI first (SDM Vol. 3A §6.9 priorities), blocked until IRET after one is taken.
  if (!nmi_blocked_ && (st.events.nmi_pending || (ic_ && ic_->take_nmi()))) {
    st.events.nmi_pending = false;
    st.events.halted = false;
    nmi_blocked_ = true;
    try {
      deliver(vec::kNMI, false, 0, false, st.rip);
    } catch (const GuestFault& f) {
      deliver_fault(f);
    }
    return true;
  }
  if (!(st.rflags & rflags::kIF) || st.events.interrupt_shadow) return false;
  int vector = -1;
  if (st.events.interrupt_pending) {
    st.events.interrupt_pending = false;
    vector = st.events.interrupt_vector;
  } else if (ic_ && ic_->interrupt_pending()) {
    if (auto v = ic_->acknowledge()) vector = *v;
  }
  if (vector < 0) return false;
  st.events.halted = false;
  try {
    deliver(static_cast<uint8_t>(vector), false, 0, false, st.rip);
  } catch (const GuestFault& f) {
    deliver_fault(f);
  }
  return true;
}

}  // namespace vessel::engine::emu
