#include "engine/emu/jit/translator.hpp"

#include "engine/emu/jit/emitter.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;

Layout Layout::of(const Cpu& c) {
  const auto at = [&](const void* p) {
    return static_cast<int32_t>(static_cast<const char*>(p) - reinterpret_cast<const char*>(&c));
  };
  return Layout{at(c.st.gpr.data()),      at(&c.st.rip),
                at(&c.st.rflags),         at(&c.next_rip),
                at(&c.jit_retired_ref()), at(&c.jit_fallbacks_ref())};
}

namespace {

// One instruction through its interpreter handler. r12d keeps guarded_call's "leave" answer
// for after the commit.
void emit_call(Emitter& e, const x86::DecodedInst& in, Handler h, Xbyak::Label& fault) {
  e.store_next_rip(in.length);
  e.mov(rdi, rbx);
  e.mov(rsi, reinterpret_cast<uint64_t>(&in));
  e.mov(rdx, reinterpret_cast<uint64_t>(h));
  e.mov(rax, reinterpret_cast<uint64_t>(&guarded_call));
  e.call(rax);
  e.cmp(eax, kFault);
  e.je(fault, Xbyak::CodeGenerator::T_NEAR);
  e.mov(r12d, eax);
  e.inc(e.field64(e.lay.fallbacks));
  e.mov(rcx, e.field64(e.lay.next_rip));
  e.mov(e.field64(e.lay.rip), rcx);
}

}  // namespace

BlockFn translate(CodeCache& cache, const Layout& layout, std::span<const x86::DecodedInst> insts,
                  std::span<const Handler> handlers, x86::CodeMode mode, Stats& stats) {
  if (!cache.ok()) return nullptr;
  try {
    Emitter e(cache, layout, mode);
    Xbyak::Label left, fault, done;
    e.push(rbx);
    e.push(rbp);
    e.push(r12);  // three pushes: the stack is 16-byte aligned at the calls below
    e.mov(rbx, rdi);
    e.mov(rbp, rsi);
    uint64_t native = 0;
    for (size_t i = 0; i < insts.size(); ++i) {
      const x86::DecodedInst& in = insts[i];
      const bool is_native = emit_native(e, in);
      if (is_native) {
        e.advance_rip(in.length);
        ++native;
      } else {
        emit_call(e, in, handlers[i], fault);
      }
      e.inc(e.field64(layout.retired));
      // RF lasts one instruction (SDM Vol. 3A §18.3.1.1); only a handler could set it again.
      if (i == 0 || !is_native) e.and_(e.field64(layout.rflags), ~static_cast<int>(1u << 16));
      e.dec(qword[rbp]);
      e.jz(left, Xbyak::CodeGenerator::T_NEAR);
      if (!is_native) {
        e.test(r12d, r12d);
        e.jnz(left, Xbyak::CodeGenerator::T_NEAR);
      }
    }
    e.mov(eax, kRanToEnd);
    e.jmp(done);
    e.L(left);
    e.mov(eax, kLeft);
    e.jmp(done);
    e.L(fault);
    e.mov(eax, kFault);
    e.L(done);
    e.pop(r12);
    e.pop(rbp);
    e.pop(rbx);
    e.ret();
    e.ready();
    const auto fn = reinterpret_cast<BlockFn>(const_cast<uint8_t*>(e.getCode()));
    cache.commit(e.getSize());
    ++stats.blocks_translated;
    stats.native_insts += native;
    stats.called_insts += insts.size() - native;
    return fn;
  } catch (const Xbyak::Error&) {
    return nullptr;  // out of cache space
  }
}

}  // namespace vessel::engine::emu::jit
