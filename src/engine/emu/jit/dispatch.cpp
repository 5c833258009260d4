// The run loop's side of the translator: find or make a block's translation, run it, and turn
// its status back into what the interpreter would have done (fault delivery, chaining).
#include <fmt/format.h>

#include "engine/emu/cpu.hpp"
#include "engine/emu/jit/jit.hpp"

namespace vessel::engine::emu {

bool Cpu::run_translated(Block* b, uint64_t& budget) {
  if (!jit_) jit_ = std::make_unique<jit::Jit>(*this);
  jit::Jit& j = *jit_;
  const bool user = cpl() == 3;
  // Translated code counts the budget per block: a block longer than what is left runs in
  // the interpreter, which stops at the exact instruction.
  if (budget < b->insts.size()) {
    ++j.interpreted_runs;
    return interpret_block(b, budget);
  }
  if (b->jit_gen != j.cache.generation() || b->jit_user != user) {
    auto fn = jit::translate(j.cache, j.layout, b->insts, b->handlers, b->mode, user, j.stats);
    if (!fn && j.cache.ok()) {  // full: start over (we are at a block boundary)
      j.cache.flush();
      fn = jit::translate(j.cache, j.layout, b->insts, b->handlers, b->mode, user, j.stats);
    }
    if (!fn) {
      ++j.interpreted_runs;
      return interpret_block(b, budget);
    }
    b->jit_code = reinterpret_cast<void*>(fn);
    b->jit_gen = j.cache.generation();
    b->jit_user = user;
  }
  ++j.translated_runs;
  end_block = false;
  const uint64_t before = retired_;
  const uint32_t status = reinterpret_cast<jit::BlockFn>(b->jit_code)(this, &budget);
  j.translated_insts += retired_ - before;
  if (status == jit::kFault) {
    if (jit_exception) std::rethrow_exception(std::exchange(jit_exception, nullptr));
    deliver_fault(jit_fault);
    return false;
  }
  return status == jit::kRanToEnd;
}

uint64_t Cpu::jit_native_instructions() const {
  return jit_ ? jit_->stats.native_insts : 0;
}

std::string Cpu::exec_stats() const {
  if (!jit_) return "";
  const jit::Jit& j = *jit_;
  const uint64_t runs = j.translated_runs + j.interpreted_runs;
  const double per_m =
      j.translated_insts ? 1e6 * double(jit_fallbacks_) / double(j.translated_insts) : 0;
  return fmt::format(
      "translator: {} blocks translated ({} native / {} handler-call instructions), "
      "{} cache flushes; {:.1f}% of block runs translated; {:.0f} interpreter fallbacks per "
      "million translated instructions",
      j.stats.blocks_translated, j.stats.native_insts, j.stats.called_insts, j.cache.flushes(),
      runs ? 100.0 * double(j.translated_runs) / double(runs) : 0.0, per_m);
}

}  // namespace vessel::engine::emu
