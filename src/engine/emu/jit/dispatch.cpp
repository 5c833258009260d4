// The run loop's side of the translator: find or make a block's translation, link the exit the
// previous translated run left by to it (block chaining), run it, and turn its status back into
// what the interpreter would have done (fault delivery, the run loop's own links).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "engine/emu/cpu.hpp"
#include "engine/emu/jit/jit.hpp"
#include "x86/decode/decoder.hpp"

namespace vessel::engine::emu {

namespace {

// Instructions translated code may run before it comes back to the run loop whatever happens:
// events nobody signals with request_exit() (a controller that is only polled, another vCPU's
// new code pages, device writes) are seen at least this often: tens of microseconds. Small next
// to the 1M slices, large next to the run loop's cost (at 4096, budget refusals were 430 K of a
// boot's 1.9 M returns to the run loop; at 65536, 21 K).
constexpr uint64_t kChainSpan = 65536;

// Links the exit the last translated run left by to `b`, translated for `user`, about to run:
// patches a direct exit whose target is b, or fills the indirect lookup for b's RIP. Not for a
// block crossing a page (`linkable` false): only the run loop checks its second page.
void link(jit::Jit& j, const Cpu& cpu, x86::CodeMode mode, uint64_t gpa, jit::BlockFn fn, bool user,
          bool linkable) {
  jit::ExitSlot* slot = std::exchange(j.pending_slot, nullptr);
  if (!slot || !linkable || slot->user != user || mode != x86::CodeMode::k64) return;
  if (slot->indirect) {
    const uint64_t rip = cpu.st.rip;
    const unsigned index = jit::indirect_index(rip);
    j.indirect[user][index] =
        jit::IndirectEntry{rip, cpu.jit_chain_gen_ref(), jit::header_of(fn).chained, 0};
    // The run loop has just fetched from RIP's page: its TLB entry says whether it is global.
    const TlbEntry& t =
        cpu.jit_tlb()[(user ? Cpu::kTlbSize : 0) + ((rip >> 12) & (Cpu::kTlbSize - 1))];
    if (!(t.global && t.tag[2] == (rip & ~0xfffull)) &&
        j.local_indirect.size() <= jit::Jit::kLocalIndirectMax)
      j.local_indirect.push_back(static_cast<uint16_t>((user ? 1u << 15 : 0u) | index));
  } else if (slot->target_gpa == gpa) {
    jit::chain(slot, fn);
  }
}

// "DIV 897K, CLI 350K, ...": the `n` ops translated code called handlers for most often.
std::string top_fallbacks(const jit::Jit& j, size_t n) {
  std::vector<uint16_t> ops;
  for (size_t op = 0; op < j.fallbacks_by_op.size(); ++op)
    if (j.fallbacks_by_op[op]) ops.push_back(static_cast<uint16_t>(op));
  n = std::min(n, ops.size());
  std::partial_sort(
      ops.begin(), ops.begin() + static_cast<ptrdiff_t>(n), ops.end(),
      [&](uint16_t a, uint16_t b) { return j.fallbacks_by_op[a] > j.fallbacks_by_op[b]; });
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    std::string name = x86::mnemonic_name(ops[i]);
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const uint64_t c = j.fallbacks_by_op[ops[i]];
    out += fmt::format("{}{} {}", i ? ", " : "", name,
                       c >= 10'000'000 ? fmt::format("{}M", c / 1'000'000)
                       : c >= 10'000   ? fmt::format("{}K", c / 1'000)
                                       : fmt::format("{}", c));
  }
  return out.empty() ? "none" : out;
}

}  // namespace

bool Cpu::run_translated(Block* b, uint64_t& budget) {
  if (!jit_) jit_ = std::make_unique<jit::Jit>(*this);
  jit::Jit& j = *jit_;
  const bool user = cpl() == 3;
  // Translated code counts the budget per block: a block longer than what is left runs in
  // the interpreter, which stops at the exact instruction. RF set on entry (left by a traced
  // REP iteration, or a loaded state) lasts one instruction: the interpreter clears it after
  // the first; translated code never sees it set (handler calls clear it after themselves).
  if (budget < b->size || (st.rflags & arch::rflags::kRF)) [[unlikely]] {
    ++j.interpreted_runs;
    return interpret_block(b, budget);
  }
  if (b->jit_gen != j.cache.generation() || b->jit_user != user) {
    // A translation for the other privilege: chained jumps must not reach it any more.
    if (b->jit_gen == j.cache.generation())
      jit::retire(reinterpret_cast<jit::BlockFn>(b->jit_code));
    const std::span<const x86::DecodedInst> insts(decoded(b), b->size);
    std::array<Handler, kMaxBlockInsts> handlers;
    for (size_t i = 0; i < insts.size(); ++i) handlers[i] = handler_table()[insts[i].op];
    const std::span<const Handler> calls(handlers.data(), insts.size());
    auto fn = jit::translate(j, b->gpa, insts, calls, b->mode, user);
    if (!fn && j.cache.ok()) {  // full: start over (we are at a block boundary)
      j.flush();
      fn = jit::translate(j, b->gpa, insts, calls, b->mode, user);
    }
    if (!fn) {
      ++j.interpreted_runs;
      return interpret_block(b, budget);
    }
    // The code holds no pointer into the decoded instructions (handlers get the Jit's copies):
    // the translation is all the block needs until the interpreter runs it again.
    b->insts.reset();
    b->jit_code = reinterpret_cast<void*>(fn);
    b->jit_gen = j.cache.generation();
    b->jit_user = user;
  } else {
    ++j.cache_hits;
  }
  const auto fn = reinterpret_cast<jit::BlockFn>(b->jit_code);
  link(j, *this, b->mode, b->gpa, fn, user, !b->crosses);
  ++j.translated_runs;
  end_block = false;
  j.exit_slot = nullptr;
  jit::RunCounters& run = jit_run;
  run = jit::RunCounters::with_budget(std::min(budget, kChainSpan));
  const uint64_t span_given = run.budget();
  const uint32_t status = fn(this);
  // Every exit takes what it retired off the budget: the budget spent is the retired count.
  const uint64_t ran = span_given - run.budget();
  budget -= ran;
  retired_ += ran;
  j.chained_entries += run.chained();
  j.indirect_hits += run.indirect_hits;
  j.translated_insts += ran;
  if (status == jit::kFault) {
    if (jit_exception) std::rethrow_exception(std::exchange(jit_exception, nullptr));
    deliver_fault(jit_fault);
    return false;
  }
  if (status == jit::kRanToEnd) j.pending_slot = j.exit_slot;
  // Not run: its chained entry refused (budget, exit request) or it is retired and was reached
  // through a stale indirect-lookup entry. Either way the lookup entry for RIP is refreshed
  // with the block that runs next (harmless in the first case).
  if (status == jit::kNotRun) j.pending_slot = &j.indirect_meta[user];
  // After chained blocks, `b` is not the block that ended: no run-loop link from it.
  return status == jit::kRanToEnd && run.chained() == 0;
}

bool Cpu::jit_forget_local_lookups() {
  if (!jit_) return true;
  jit::Jit& j = *jit_;
  if (j.local_indirect.size() > jit::Jit::kLocalIndirectMax) {
    j.local_indirect.clear();  // the caller's new generation drops them all
    return false;
  }
  for (uint16_t i : j.local_indirect) j.indirect[i >> 15][i & 0x7fff] = jit::IndirectEntry{};
  j.local_indirect.clear();
  return true;
}

void Cpu::jit_forget(Block* b) {
  if (jit_ && b->jit_code && b->jit_gen == jit_->cache.generation())
    jit::retire(reinterpret_cast<jit::BlockFn>(b->jit_code));
}

uint64_t Cpu::jit_native_instructions() const {
  return jit_ ? jit_->stats.native_insts : 0;
}

uint64_t Cpu::jit_chained_jumps() const {
  return jit_ ? jit_->chained_entries - std::min(jit_->chained_entries, jit_->indirect_hits) : 0;
}

uint64_t Cpu::jit_indirect_hits() const {
  return jit_ ? jit_->indirect_hits : 0;
}

std::string Cpu::exec_stats() const {
  if (!jit_) return "";
  const jit::Jit& j = *jit_;
  const auto pct = [](uint64_t part, uint64_t whole) {
    return whole ? 100.0 * double(part) / double(whole) : 0.0;
  };
  const auto per_block = [&](uint64_t n) {
    return j.stats.blocks_translated ? double(n) / double(j.stats.blocks_translated) : 0.0;
  };
  const uint64_t loop_runs = j.translated_runs + j.interpreted_runs;
  const uint64_t chained = j.chained_entries;
  const uint64_t direct = chained - std::min(chained, j.indirect_hits);
  const uint64_t transitions = loop_runs + chained;
  return fmt::format(
      "translator: {} blocks translated ({} native / {} handler-call instructions), {} cache "
      "flushes, {:.1f}% translation cache hits (run-loop lookups); block transitions: {:.1f}% "
      "patched jumps, {:.1f}% indirect lookup, {:.1f}% run loop; {:.1f}% of run-loop block "
      "runs translated; {:.0f} interpreter fallbacks per million translated instructions; "
      "{:.2f} guest GPRs in host registers and {:.0f} code bytes per block; most frequent "
      "fallbacks: {}",
      j.stats.blocks_translated, j.stats.native_insts, j.stats.called_insts, j.cache.flushes(),
      pct(j.cache_hits, j.translated_runs), pct(direct, transitions),
      pct(j.indirect_hits, transitions), pct(loop_runs, transitions),
      pct(j.translated_runs, loop_runs),
      j.translated_insts ? 1e6 * double(jit_fallbacks_) / double(j.translated_insts) : 0.0,
      per_block(j.stats.cached_gprs), per_block(j.stats.code_bytes), top_fallbacks(j, 5));
}

}  // namespace vessel::engine::emu
