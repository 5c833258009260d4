// Dispatch to the native translators by instruction family.
#include "engine/emu/jit/emitter.hpp"

namespace vessel::engine::emu::jit {

bool emit_native(Emitter&, const x86::DecodedInst&) {
  return false;
}

}  // namespace vessel::engine::emu::jit
