#include "engine/emu/jit/translator.hpp"

#include "engine/emu/jit/emitter.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using Xbyak::CodeGenerator;

Layout Layout::of(const Cpu& c) {
  const auto at = [&](const void* p) {
    return static_cast<int32_t>(static_cast<const char*>(p) - reinterpret_cast<const char*>(&c));
  };
  Layout l{};
  l.gpr = at(c.st.gpr.data());
  l.rip = at(&c.st.rip);
  l.rflags = at(&c.st.rflags);
  l.next_rip = at(&c.next_rip);
  l.end_block = at(&c.end_block);
  l.retired = at(&c.jit_retired_ref());
  l.fallbacks = at(&c.jit_fallbacks_ref());
  l.tlb = at(c.jit_tlb());
  for (int s = 0; s < 6; ++s) l.seg_base[s] = at(&c.st.seg[s].base);
  return l;
}

namespace {

// One instruction through its interpreter handler (call threading).
void emit_call(Emitter& e, const x86::DecodedInst& in, Handler h) {
  e.add_rip(e.pending);
  e.pending = 0;
  e.mov(rcx, e.field64(e.lay.rip));
  e.add(rcx, in.length);
  e.wrap_ip(rcx);
  e.mov(e.field64(e.lay.next_rip), rcx);
  e.mov(rdi, rbx);
  e.mov(rsi, reinterpret_cast<uint64_t>(&in));
  e.mov(rdx, reinterpret_cast<uint64_t>(h));
  e.mov(rax, reinterpret_cast<uint64_t>(&guarded_call));
  e.call(rax);
  e.cmp(eax, kFault);
  e.je(e.exit(kFault, e.index, 0), CodeGenerator::T_NEAR);
  e.mov(r12d, eax);
  e.inc(e.field64(e.lay.fallbacks));
  e.mov(rcx, e.field64(e.lay.next_rip));
  e.mov(e.field64(e.lay.rip), rcx);
  // RF lasts one instruction (SDM Vol. 3A §18.3.1.1): clear it after each handler.
  e.and_(e.field64(e.lay.rflags), ~static_cast<int>(1u << 16));
  e.test(r12d, r12d);
  e.jnz(e.exit(kLeft, e.index + 1, 0), CodeGenerator::T_NEAR);
}

}  // namespace

BlockFn translate(CodeCache& cache, const Layout& layout, std::span<const x86::DecodedInst> insts,
                  std::span<const Handler> handlers, x86::CodeMode mode, bool user, Stats& stats) {
  if (!cache.ok()) return nullptr;
  try {
    Emitter e(cache, layout, mode, user);
    Xbyak::Label epilogue;
    for (const auto& r : {rbx, rbp, r12, r13, r14, r15}) e.push(r);
    e.sub(rsp, 8);  // the spill slot; keeps calls 16-byte aligned
    e.mov(rbx, rdi);
    e.mov(rbp, rsi);
    uint64_t native = 0;
    for (size_t i = 0; i < insts.size(); ++i) {
      const x86::DecodedInst& in = insts[i];
      e.index = static_cast<unsigned>(i);
      e.length = in.length;
      e.wrote_memory = e.sets_rip = false;
      if (emit_native(e, in)) {
        ++native;
        e.pending = e.sets_rip ? 0 : e.pending + in.length;
        if (i == 0) e.and_(e.field64(layout.rflags), ~static_cast<int>(1u << 16));
        if (e.wrote_memory) {  // a slow store to a code page may have dropped this block
          e.cmp(e.byte[rbx + layout.end_block], 0);
          e.jne(e.exit(kLeft, e.index + 1, e.pending), CodeGenerator::T_NEAR);
        }
      } else {
        emit_call(e, in, handlers[i]);
      }
    }
    e.jmp(e.exit(kRanToEnd, static_cast<unsigned>(insts.size()), e.pending), CodeGenerator::T_NEAR);
    e.emit_exits(epilogue);
    e.L(epilogue);
    e.add(rsp, 8);
    for (const auto& r : {r15, r14, r13, r12, rbp, rbx}) e.pop(r);
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
