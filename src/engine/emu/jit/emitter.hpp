// Emitter: the xbyak code generator for one block, with the register conventions of
// translated code. rbx holds the Cpu*, rbp the budget pointer (both callee-saved, so they
// survive handler calls); rax, rcx, rdx, rsi, rdi, r8-r11 are scratch within an instruction.
#pragma once

#include <xbyak/xbyak.h>

#include "engine/emu/jit/translator.hpp"

namespace vessel::engine::emu::jit {

struct Emitter : Xbyak::CodeGenerator {
  Emitter(CodeCache& cache, const Layout& layout, x86::CodeMode code_mode)
      : Xbyak::CodeGenerator(cache.free_bytes(), cache.free_ptr()), lay(layout), mode(code_mode) {}

  Xbyak::Address gpr64(unsigned r) { return qword[rbx + lay.gpr + 8 * static_cast<int>(r)]; }
  Xbyak::Address field64(int32_t off) { return qword[rbx + off]; }

  // rip += length, wrapped to the code size (16/32-bit code keeps the upper bits clear).
  void advance_rip(unsigned length) {
    if (mode == x86::CodeMode::k64) {
      add(field64(lay.rip), static_cast<int>(length));
      return;
    }
    mov(rcx, field64(lay.rip));
    add(ecx, static_cast<int>(length));
    if (mode == x86::CodeMode::k16) movzx(ecx, cx);
    mov(field64(lay.rip), rcx);
  }
  // next_rip = rip + length (wrapped): what handlers and branch targets see.
  void store_next_rip(unsigned length) {
    mov(rcx, field64(lay.rip));
    if (mode == x86::CodeMode::k64) {
      add(rcx, static_cast<int>(length));
    } else {
      add(ecx, static_cast<int>(length));
      if (mode == x86::CodeMode::k16) movzx(ecx, cx);
    }
    mov(field64(lay.next_rip), rcx);
  }

  const Layout& lay;
  x86::CodeMode mode;
};

// Native translation of one instruction (native_*.cpp); false when the family or form is not
// handled, and the caller emits a handler call instead. A native translation never faults and
// leaves RIP to the caller.
bool emit_native(Emitter& e, const x86::DecodedInst& in);

}  // namespace vessel::engine::emu::jit
