// The code every translation shares, emitted once at the start of each code cache generation
// (Jit::Jit, Jit::flush): the C entry's frame set-up and the epilogue, the status returns, the
// "left by this exit slot" return, the indirect-branch lookup and the memory slow-path calls.
// A block jumps (or, for the slow paths, calls) here instead of carrying its own copy: the code
// cache then holds per block only what differs between blocks.
#include <cstddef>
#include <utility>
#include <vector>

#include "engine/emu/jit/emitter.hpp"
#include "engine/emu/jit/perf_map.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using Xbyak::CodeGenerator;

namespace {

struct StubEmitter : Xbyak::CodeGenerator {
  explicit StubEmitter(Jit& j)
      : Xbyak::CodeGenerator(j.cache.free_bytes(), j.cache.free_ptr()), jit(j) {}

  // rdi = Cpu*, rsi = the block's body (see the per-block C entry). Blocks pass the guest's
  // arithmetic flags to each other in r15 (Emitter): it starts as st.rflags.
  void enter() {
    for (const auto& r : {rbx, rbp, r12, r13, r14, r15}) push(r);
    sub(rsp, kFrame);  // the spill slot and r8-r11's (see Emitter); keeps calls 16-byte aligned
    mov(rbx, rdi);
    mov(r15, qword[rbx + jit.layout.rflags]);
    mov(rbp, qword[rbx + jit.layout.meter]);
    jmp(rsi);
  }

  // eax = the status. Every way out has all the arithmetic flags in r15: into st.rflags.
  void epilogue() {
    mov(rcx, qword[rbx + jit.layout.rflags]);
    xor_(rcx, r15);
    and_(ecx, kArithFlags);
    xor_(qword[rbx + jit.layout.rflags], rcx);
    mov(qword[rbx + jit.layout.meter], rbp);
    add(rsp, kFrame);
    for (const auto& r : {r15, r14, r13, r12, rbp, rbx}) pop(r);
    ret();
  }

  // rax = the ExitSlot the block left by (Jit::exit_slot); the block ran to its end.
  void leave_slot(Xbyak::Label& epi) {
    mov(rcx, reinterpret_cast<uint64_t>(&jit.exit_slot));
    mov(qword[rcx], rax);
    xor_(eax, eax);
    static_assert(kRanToEnd == 0);
    jmp(epi, T_NEAR);
  }

  // RIP is in st.rip (the block committed everything): jump to the chained entry the lookup
  // holds for it, else leave telling the run loop to fill the lookup with the block it runs
  // next. A hit costs the block one direct jump more than an inline probe would.
  void probe(bool user, const void* leave) {
    const Layout& lay = jit.layout;
    Xbyak::Label miss;
    mov(rcx, qword[rbx + lay.rip]);
    mov(rax, rcx);
    shr(rax, 10);
    xor_(rax, rcx);
    and_(eax, kIndirectEntries - 1);
    shl(eax, 5);
    static_assert(sizeof(IndirectEntry) == 32);
    mov(rdx, reinterpret_cast<uint64_t>(jit.indirect[user].data()));
    add(rdx, rax);
    cmp(rcx, qword[rdx + static_cast<int>(offsetof(IndirectEntry, rip))]);
    jne(miss);
    mov(rax, qword[rbx + lay.chain_gen]);
    cmp(rax, qword[rdx + static_cast<int>(offsetof(IndirectEntry, gen))]);
    jne(miss);
    inc(qword[rbx + lay.indirect_hits]);
    jmp(qword[rdx + static_cast<int>(offsetof(IndirectEntry, code))]);
    L(miss);
    mov(rax, reinterpret_cast<uint64_t>(&jit.indirect_meta[user]));
    jmp(leave, T_NEAR);
  }

  // An exit's counts, jumped to with ecx = RIP bytes << 8 | instructions retired (64-bit
  // code, where st.rip needs no wrap): one mov in the block instead of three read-modify-writes.
  // Before commit(): r15 ^= (r15 ^ st.rflags) & edi (see Emitter::emit_take).
  void take() {
    mov(rsi, qword[rbx + jit.layout.rflags]);
    xor_(rsi, r15);
    and_(esi, edi);
    xor_(r15, rsi);
  }

  void commit() {
    movzx(eax, cl);
    shr(rcx, 8);
    add(qword[rbx + jit.layout.rip], rcx);
    shl(rax, RunCounters::kExitBits);  // Emitter::metered (the retired count follows from it)
    dec(rax);
    sub(rbp, rax);
  }

  // Called from a block's slow path with esi = segment | size << 8 | pending << 16 (the RIP
  // bytes not yet stored), r13 = offset (and r14 = the value for a store). st.rip is at the
  // instruction during the C call; it goes back unless the access faults. The call clobbers
  // r8-r11, which may hold cached GPRs: they are kept in the block's frame slots (above our return
  // address) and restored, so that they are intact whether the access faults (the fault exit
  // writes the dirty ones back) or not. Returns with ZF clear on a fault, else ZF set and (for
  // a load) the value in rax.
  void slow_call(bool store) {
    const Layout& lay = jit.layout;
    // Past our return address and the word below it that keeps esi: the frame's spill slot
    // and its r8-r11 slots.
    constexpr int kSpill = 16, kSlots = 24;
    sub(rsp, 8);  // 16-byte aligned for the C call
    for (unsigned i = 0; i < kCallerSavedCacheRegs; ++i)
      mov(qword[rsp + kSlots + 8 * static_cast<int>(i)], Emitter::host_reg(i));
    mov(qword[rsp], rsi);
    mov(ecx, esi);
    shr(ecx, 16);
    add(qword[rbx + lay.rip], rcx);
    mov(rdi, rbx);
    mov(rdx, r13);
    mov(ecx, esi);
    shr(ecx, 8);
    movzx(ecx, cl);
    movzx(esi, sil);
    if (store)
      mov(r8, r14);
    else
      lea(r8, ptr[rsp + kSpill]);  // receives the value
    mov(rax,
        store ? reinterpret_cast<uint64_t>(&slow_write) : reinterpret_cast<uint64_t>(&slow_read));
    call(rax);
    Xbyak::Label fault;
    test(eax, eax);
    jnz(fault);
    mov(rcx, qword[rsp]);
    shr(ecx, 16);
    sub(qword[rbx + lay.rip], rcx);
    xor_(eax, eax);  // ZF set
    L(fault);
    lea(rsp, ptr[rsp + 8]);  // keeps ZF, as the moves below do
    for (unsigned i = 0; i < kCallerSavedCacheRegs; ++i)
      mov(Emitter::host_reg(i), qword[rsp + kSlots - 8 + 8 * static_cast<int>(i)]);
    if (!store) mov(rax, qword[rsp + kSpill - 8]);
    ret();
  }

  Jit& jit;
};

}  // namespace

void emit_shared_stubs(Jit& jit) {
  jit.stubs = SharedStubs{};
  if (!jit.cache.ok()) return;
  StubEmitter s(jit);
  Xbyak::Label epi;
  // Named regions for VESSEL_PERF_MAP: where each group of stubs starts.
  std::vector<std::pair<const uint8_t*, const char*>> regions;
  const auto here = [&] { return s.getCurr(); };
  const auto region = [&](const char* name) { regions.emplace_back(here(), name); };
  region("enter-exit");
  jit.stubs.enter = here();
  s.enter();
  s.L(epi);
  s.epilogue();
  region("exit-tails");
  for (uint32_t status = 0; status < 4; ++status) {
    jit.stubs.take_commit_status[status] = here();
    s.take();
    jit.stubs.commit_status[status] = here();
    s.commit();
    jit.stubs.status[status] = here();
    s.mov(s.eax, status);
    s.jmp(epi, CodeGenerator::T_NEAR);
  }
  jit.stubs.leave_slot = here();
  s.leave_slot(epi);
  region("indirect-lookup");
  for (int user = 0; user < 2; ++user) {
    jit.stubs.take_commit_probe[user] = here();
    s.take();
    jit.stubs.commit_probe[user] = here();
    s.commit();  // falls into the probe: a lookup hit costs one jump more than inline code
    jit.stubs.probe[user] = here();
    s.probe(user != 0, jit.stubs.leave_slot);
  }
  region("slow-path-calls");
  jit.stubs.slow_read = here();
  s.slow_call(false);
  jit.stubs.slow_write = here();
  s.slow_call(true);
  s.ready();
  regions.emplace_back(here(), nullptr);
  if (perf_map_enabled())
    for (size_t i = 0; i + 1 < regions.size(); ++i)
      perf_map_add_named(regions[i].first, regions[i + 1].first - regions[i].first,
                         regions[i].second);
  jit.cache.commit(s.getSize());
}

}  // namespace vessel::engine::emu::jit
