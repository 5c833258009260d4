#include "engine/emu/jit/translator.hpp"

#include <Zydis/Mnemonic.h>

#include <cstddef>
#include <cstring>
#include <utility>

#include "engine/emu/jit/emitter.hpp"
#include "engine/emu/jit/flag_liveness.hpp"
#include "engine/emu/jit/perf_map.hpp"
#include "engine/emu/jit/reg_cache.hpp"
#include "x86/decode/branch.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using Xbyak::CodeGenerator;

Jit::Jit(const Cpu& cpu) : layout(Layout::of(cpu)) {
  indirect_meta[0].indirect = indirect_meta[1].indirect = true;
  indirect_meta[1].user = true;
  clear_indirect();
  emit_shared_stubs(*this);
  emitter = std::make_unique<Emitter>(*this);
}

Jit::~Jit() = default;

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
  l.fallbacks = at(&c.jit_fallbacks_ref());
  l.tlb = at(c.jit_tlb());
  l.exit_request = at(&c.jit_exit_request_ref());
  l.chain_gen = at(&c.jit_chain_gen_ref());
  l.meter = at(&c.jit_run.meter);
  l.indirect_hits = at(&c.jit_run.indirect_hits);
  for (int s = 0; s < 6; ++s) l.seg_base[s] = at(&c.st.seg[s].base);
  return l;
}

namespace {

// One instruction through its interpreter handler (call threading). The handler sees the
// whole guest state: flags merged into st.rflags, the cached GPRs written back before and read
// again after (but not after the block's last instruction: only exits follow, and nothing is
// dirty). It gets a copy of the instruction the Jit keeps for the cache generation, so the
// block's decoded instructions can go once it is translated.
void emit_call(Emitter& e, const x86::DecodedInst& inst, Handler h, bool last) {
  const x86::DecodedInst& in = e.jit.called.emplace_back(inst);
  e.materialize();  // the handler reads and writes st.rflags
  e.store_cached(e.dirty);
  e.dirty = 0;
  e.add_rip(e.pending);
  e.pending = 0;
  e.mov(rcx, e.field64(e.lay.rip));
  e.add(rcx, in.length);
  e.wrap_ip(rcx);
  e.mov(e.field64(e.lay.next_rip), rcx);
  e.mov(rdi, rbx);
  e.mov(rsi, reinterpret_cast<uint64_t>(&in));
  e.mov(rdx, reinterpret_cast<uint64_t>(h));
  e.mov(rax, reinterpret_cast<uint64_t>(&e.jit.fallbacks_by_op[in.op]));
  e.inc(e.qword[rax]);  // the flags are in st.rflags by now
  e.mov(rax, reinterpret_cast<uint64_t>(&guarded_call));
  e.call(rax);
  if (!last) e.load_cached();  // keeps eax
  e.cmp(eax, kFault);
  e.jcc_exit(Emitter::kCcE, e.exit(kFault, e.index, 0));
  e.mov(edx, eax);
  e.inc(e.field64(e.lay.fallbacks));
  e.mov(rcx, e.field64(e.lay.next_rip));
  e.mov(e.field64(e.lay.rip), rcx);
  // RF lasts one instruction (SDM Vol. 3A §18.3.1.1): clear it after each handler.
  e.and_(e.field64(e.lay.rflags), ~static_cast<int>(1u << 16));
  e.test(edx, edx);
  e.jcc_exit(Emitter::kCcNe, e.exit(kLeft, e.index + 1, 0));
}

}  // namespace

void patch_jump(uint8_t* at, const void* target) {
  const int64_t rel = static_cast<const uint8_t*>(target) - (at + 5);
  const auto rel32 = static_cast<int32_t>(rel);  // one 64 MiB cache: always in range
  uint8_t insn[5] = {0xe9};
  std::memcpy(insn + 1, &rel32, 4);
  std::memcpy(at, insn, 5);
}

void chain(ExitSlot* slot, BlockFn to) {
  Header& h = header_of(to);
  patch_jump(slot->jump, h.chained);
  slot->next_in = h.incoming;
  h.incoming = slot;
}

void retire(BlockFn fn) {
  Header& h = header_of(fn);
  patch_jump(h.chained, h.not_run);
  for (ExitSlot* in = std::exchange(h.incoming, nullptr); in; in = in->next_in)
    patch_jump(in->jump, in->jump + 5);  // back to its stub, right after it
}

namespace {

// The chained entry: a patchable 5-byte NOP (see retire()), then the checks the run loop
// would make between blocks, as far as chained code needs them (Header).
void emit_chained_entry(Emitter& e, size_t insts) {
  const void* const not_run = e.jit.stubs.status[kNotRun];
  e.db(0x0f);
  e.db(0x1f);
  e.db(0x44);
  e.db(0x00);
  e.db(0x00);
  e.cmp(e.byte[rbx + e.lay.exit_request], 0);
  e.jne(not_run);
  e.cmp(rbp, static_cast<int>(insts << RunCounters::kExitBits));
  e.jb(not_run);  // the exit that led here counted the transition (RunCounters)
}

// How a block that ran to its end leaves: through its last instruction's own exits, the
// indirect lookup after a near transfer whose target is only known at run time, or straight
// on to the next instruction.
void emit_end(Emitter& e, std::span<const x86::DecodedInst> insts) {
  if (e.ended) return;
  const auto n = static_cast<unsigned>(insts.size());
  const x86::DecodedInst& last = insts.back();
  if (!(last.flags & x86::iflag::kEndsBlock)) {
    e.jmp_exit(e.direct_exit(n, e.pending, e.offset + last.length));
  } else if (x86::keeps_code_segment(last) && e.pending == 0) {
    e.jmp_exit(e.indirect_exit(n));
  } else {
    e.jmp_exit(e.exit(kRanToEnd, n, e.pending));
  }
}

// Whether the block's last instruction may be a relative branch back to its first (a loop
// of one block, in 64-bit code where direct exits chain).
bool loops_to_start(std::span<const x86::DecodedInst> insts, x86::CodeMode mode) {
  const x86::DecodedInst& last = insts.back();
  if (mode != x86::CodeMode::k64 || last.num_operands == 0 ||
      last.ops[0].kind != x86::OpKind::kRel || last.op == ZYDIS_MNEMONIC_CALL)
    return false;
  int64_t bytes = 0;
  for (const x86::DecodedInst& in : insts) bytes += in.length;
  return bytes + last.ops[0].value == 0;
}

// Emits the translation; nullptr when `plan` took an instruction for native that was not.
BlockFn emit_block(Jit& jit, uint64_t gpa, std::span<const x86::DecodedInst> insts,
                   std::span<const Handler> handlers, x86::CodeMode mode, bool user,
                   const FlagPlan* plan) {
  const Layout& layout = jit.layout;
  Emitter& e = *jit.emitter;
  e.begin(gpa, mode, user, choose_cached_gprs(insts));
  // The Header (incoming, chained entry, the kNotRun return), its chained entry filled in
  // below; no xbyak labels, which cost allocations.
  e.dq(0);
  const size_t chained_field = e.getSize();
  e.dq(0);
  e.dq(reinterpret_cast<uint64_t>(jit.stubs.status[kNotRun]));  // a retired block's way out
  // The C entry: the shared frame set-up (SharedStubs::enter), which jumps to the body.
  const uint8_t* const entry = e.getCurr();
  e.db(0x48);  // lea rsi, [rip + body]
  e.db(0x8d);
  e.db(0x35);
  const size_t body_rel = e.getSize();
  e.dd(0);
  e.jmp(jit.stubs.enter, CodeGenerator::T_NEAR);
  const uint8_t* const chained = e.getCurr();
  std::memcpy(e.getCode<uint8_t*>() + chained_field, &chained, sizeof chained);
  emit_chained_entry(e, insts.size());
  const auto body = static_cast<int32_t>(e.getSize() - (body_rel + 4));
  std::memcpy(e.getCode<uint8_t*>() + body_rel, &body, sizeof body);
  e.load_cached();
  if (loops_to_start(insts, mode)) e.mark_loop_head(static_cast<unsigned>(insts.size()));
  uint64_t native = 0;
  unsigned offset = 0;
  for (size_t i = 0; i < insts.size(); ++i) {
    const x86::DecodedInst& in = insts[i];
    e.index = static_cast<unsigned>(i);
    e.offset = offset;
    e.length = in.length;
    offset += in.length;
    e.wrote_memory = e.sets_rip = false;
    e.flags_live = plan ? plan->live_out[i] : kArithFlags;
    if (emit_native(e, in)) {
      ++native;
      e.pending = e.sets_rip ? 0 : e.pending + in.length;
      if (e.wrote_memory && !e.ended) {  // a slow store to a code page may have dropped this block
        e.clobber_flags();
        e.cmp(e.byte[rbx + layout.end_block], 0);
        e.jcc_exit(Emitter::kCcNe, e.exit(kLeft, e.index + 1, e.pending));
      }
    } else {
      if (plan && plan->assumed_native[i]) return nullptr;
      emit_call(e, in, handlers[i], i + 1 == insts.size());
    }
  }
  emit_end(e, insts);
  e.emit_exits();
  e.emit_slow_paths();
  e.resolve_jumps();
  e.ready();
  if (perf_map_enabled()) perf_map_add(e.getCode(), e.getSize(), gpa, mode, insts.size());
  jit.cache.commit(e.getSize());
  ++jit.stats.blocks_translated;
  jit.stats.native_insts += native;
  jit.stats.called_insts += insts.size() - native;
  jit.stats.cached_gprs += e.regs.count;
  jit.stats.code_bytes += e.getSize();
  return reinterpret_cast<BlockFn>(const_cast<uint8_t*>(entry));
}

}  // namespace

BlockFn translate(Jit& jit, uint64_t gpa, std::span<const x86::DecodedInst> insts,
                  std::span<const Handler> handlers, x86::CodeMode mode, bool user) {
  if (!jit.cache.ok() || insts.empty()) return nullptr;
  try {
    const FlagPlan plan = plan_flags(insts);
    if (BlockFn fn = emit_block(jit, gpa, insts, handlers, mode, user, &plan)) return fn;
    ++jit.stats.all_live_retries;
    return emit_block(jit, gpa, insts, handlers, mode, user, nullptr);
  } catch (const Xbyak::Error&) {
    return nullptr;  // out of cache space
  }
}

}  // namespace vessel::engine::emu::jit
