// Dispatch to the native translators by instruction family. LOCKed forms always take the
// handler (its compare-and-swap path).
#include "engine/emu/jit/native_forms.hpp"

namespace vessel::engine::emu::jit {

bool emit_native(Emitter& e, const x86::DecodedInst& in) {
  if (in.prefixes & x86::prefix::kLock) return false;
  return emit_move(e, in) || emit_alu(e, in) || emit_branch(e, in) || emit_muldiv(e, in) ||
         emit_bit(e, in) || emit_system(e, in) || emit_sse_move(e, in);
}

}  // namespace vessel::engine::emu::jit
