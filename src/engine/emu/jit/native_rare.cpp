#include <cstring>

#include "engine/emu/jit/native_forms.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using Xbyak::CodeGenerator;

void emit_rare_call(Emitter& e, const x86::DecodedInst& in) {
  Xbyak::Label over;
  e.jmp(over, CodeGenerator::T_NEAR);
  e.align(8);
  const uint8_t* const copy = e.getCurr();
  uint8_t bytes[sizeof(x86::DecodedInst)];
  std::memcpy(bytes, &in, sizeof bytes);
  for (uint8_t b : bytes) e.db(b);
  e.L(over);
  // The flags still in r15 into st.rflags, for the handler (code only: the caller's state
  // goes on with them in r15, which ends up holding st.rflags).
  const uint32_t saved = e.saved_flags;
  if (saved) e.emit_merge(saved);
  e.saved_flags = 0;
  e.store_cached(e.dirty);
  e.add_rip(e.pending);  // exact for the handler and a fault
  e.mov(rcx, e.field64(e.lay.rip));
  e.add(rcx, in.length);
  e.wrap_ip(rcx);
  e.mov(e.field64(e.lay.next_rip), rcx);
  e.mov(rax, reinterpret_cast<uint64_t>(&e.jit.fallbacks_by_op[in.op]));
  e.inc(e.qword[rax]);  // a handler call like any other in the statistics
  e.inc(e.field64(e.lay.fallbacks));
  e.mov(rdi, rbx);
  e.mov(rsi, reinterpret_cast<uint64_t>(copy));
  e.mov(rdx, reinterpret_cast<uint64_t>(handler_table()[in.op]));
  e.mov(rax, reinterpret_cast<uint64_t>(&guarded_call));
  e.call(rax);
  e.load_cached();  // keeps eax
  e.cmp(eax, kFault);
  e.jcc_exit(Emitter::kCcE, e.exit(kFault, e.index, 0));
  e.sub_rip(e.pending);
  e.mov(r15, e.field64(e.lay.rflags));
  e.saved_flags = saved;
}

}  // namespace vessel::engine::emu::jit
