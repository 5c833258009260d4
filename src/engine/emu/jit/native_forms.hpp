// The native translators of the less common families (native_muldiv.cpp, native_bit.cpp,
// native_system.cpp, native_sse.cpp) and what they share: operand registers at a size, the
// CpuState fields they reach through rbx, and the rare-case handler call (native_rare.cpp).
#pragma once

#include <cstddef>

#include "engine/emu/jit/emitter.hpp"

namespace vessel::engine::emu::jit {

bool emit_muldiv(Emitter& e, const x86::DecodedInst& in);
bool emit_bit(Emitter& e, const x86::DecodedInst& in);
bool emit_system(Emitter& e, const x86::DecodedInst& in);
bool emit_sse_move(Emitter& e, const x86::DecodedInst& in);

// `r` at 1, 2, 4 or 8 bytes.
inline Xbyak::Reg sized_reg(const Xbyak::Reg64& r, unsigned size) {
  switch (size) {
    case 1:
      return r.cvt8();
    case 2:
      return r.cvt16();
    case 4:
      return r.cvt32();
    default:
      return r;
  }
}

// rbx-relative offset of a CpuState field, from the Layout's st.gpr (CpuState is
// standard-layout, unlike Cpu).
inline int32_t state_offset(const Emitter& e, size_t field_offset) {
  return e.lay.gpr - static_cast<int32_t>(offsetof(arch::CpuState, gpr)) +
         static_cast<int32_t>(field_offset);
}

// The current instruction through its interpreter handler, from a native translation's rare
// path (a division that would fault, CLI above CPL 0, ...). The caller has saved the host
// flags (clobber_flags); the flags in r15 are merged for the handler, and after it r15 =
// st.rflags (the translation-time flag state is unchanged), the cached GPRs are reloaded,
// and a fault has left the block (nothing committed). The translation keeps its own copy of the
// DecodedInst: a block whose code calls no handler frees its decoded forms.
void emit_rare_call(Emitter& e, const x86::DecodedInst& in);

}  // namespace vessel::engine::emu::jit
