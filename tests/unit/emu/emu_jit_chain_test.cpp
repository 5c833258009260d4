// Block chaining in the translator: direct exits patched into jumps between translations, the
// indirect-branch lookup (RET, CALL/JMP through a register), and what must break a chain or
// leave it: self-modifying code, remapped code pages (INVLPG, CR3), interrupts during a
// chained tight loop. Each case also runs on the interpreter, which must agree.
#include <atomic>
#include <chrono>
#include <thread>
#include <utility>

#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kPt = kPml4 + 0x3000;  // a 4 KiB page table for 0x600000-0x7fffff
constexpr uint64_t kFn = 0x606000;        // a 4 KiB page of code that gets remapped

struct ChainEnv : Env {
  explicit ChainEnv(ExecMode mode) {
    cpu.set_exec_mode(mode);
    cpu.set_jit_threshold(0);
    long_mode(kCode);
    poke<uint64_t>(kPml4 + 0x2000 + 8 * 3, kPt | 7);
    for (uint64_t i = 0; i < 512; ++i) poke<uint64_t>(kPt + 8 * i, (0x600000 + (i << 12)) | 7);
    cpu.state_changed();
  }
};

struct Result {
  StopReason stop;
  uint64_t rax, chained, indirect;
};

// Runs `src` at kCode after `setup`, on the interpreter and on the translator; both must halt
// with the same RAX, which is returned with the translator's chaining counts.
template <class Setup>
Result run_both(const std::string& src, Setup setup) {
  Result r[2];
  int i = 0;
  for (ExecMode mode : {ExecMode::kInterp, ExecMode::kJit}) {
    ChainEnv e(mode);
    setup(e);
    r[i] = {e.run_code(src, 10'000'000), e.cpu.state().gpr[kRax], e.cpu.jit_chained_jumps(),
            e.cpu.jit_indirect_hits()};
    EXPECT_EQ(r[i].stop, StopReason::kHalt) << (i ? "translator" : "interpreter");
    ++i;
  }
  EXPECT_EQ(r[0].rax, r[1].rax) << "the translator disagrees with the interpreter";
  return r[1];
}
Result run_both(const std::string& src) {
  return run_both(src, [](ChainEnv&) {});
}

TEST(EmuJitChain, LoopAcrossTwoBlocksIsChained) {
  const Result r = run_both(
      "xor eax, eax\nmov ecx, 1000\n"
      ".a: add rax, rcx\njmp .b\n"         // block 1 ends with a direct jump
      ".b: add rax, 3\ndec ecx\njnz .a\n"  // block 2 with a conditional one
      "hlt");
  EXPECT_EQ(r.rax, 1000u * 1001u / 2 + 3000u);
  // About two patched jumps per iteration once both blocks are translated and linked.
  EXPECT_GT(r.chained, 1500u);
}

// A chained successor's immediate is rewritten halfway: the rest of the loop must run the new
// instruction, not the translation the patched jump led to.
TEST(EmuJitChain, SelfModifyingCodeBreaksChainedSuccessor) {
  const Result r = run_both(
      "xor eax, eax\nmov ecx, 100\n"
      ".a: cmp ecx, 50\njne .f\n"
      "mov byte [rel .imm], 7\n"
      ".f: db 0x48, 0x83, 0xc0\n"  // add rax, imm8
      ".imm: db 1\n"
      "dec ecx\njnz .a\nhlt");
  EXPECT_EQ(r.rax, 50u * 1u + 50u * 7u);
  EXPECT_GT(r.chained, 50u);
}

// The chained successor is rewritten (with the same bytes) halfway through a loop: the jump
// patched to its dropped translation must be linked again to the new one, so the second half
// still runs as patched jumps rather than through the run loop.
TEST(EmuJitChain, JumpToARetiredTranslationIsLinkedAgain) {
  const Result r = run_both(
      "xor eax, eax\nmov ecx, 1000\n"
      ".a: cmp ecx, 500\njne .f\n"
      "mov byte [rel .imm], 1\n"
      ".f: db 0x48, 0x83, 0xc0\n"  // add rax, imm8
      ".imm: db 1\n"
      "dec ecx\njnz .a\nhlt");
  EXPECT_EQ(r.rax, 1000u);
  // Two patched jumps per iteration (.a -> .f, .f -> .a) but for a few while linking.
  EXPECT_GT(r.chained, 1900u);
}

// Code on a 4 KiB page, two blocks chained within it, called often enough to be linked; then
// the page is mapped to another frame (by a PTE change and INVLPG, or by a new CR3): calls
// must run the new frame's code, through the direct call and through CALL reg (both, being
// to another page, go through the indirect lookup, which the remap must empty).
void remap_case(const std::string& call, const std::string& remap) {
  SCOPED_TRACE(call + " / " + remap);
  const auto setup = [](ChainEnv& e) {
    e.load(kFn, assemble(64, "add rax, 1\njmp .n\n.n: add rax, 2\nret", kFn));
    e.load(kFn + 0x1000, assemble(64, "add rax, 1000\njmp .n\n.n: add rax, 2000\nret", kFn));
    // A second hierarchy (for the CR3 case) that maps kFn to the second frame.
    const uint64_t pml4b = kPml4 + 0x5000, pdpt = pml4b + 0x1000, pd = pml4b + 0x2000,
                   pt = pml4b + 0x3000;
    e.poke<uint64_t>(pml4b, pdpt | 7);
    e.poke<uint64_t>(pdpt, pd | 7);
    for (uint64_t i = 0; i < 512; ++i) {
      e.poke<uint64_t>(pd + 8 * i, e.peek<uint64_t>(kPml4 + 0x2000 + 8 * i));
      e.poke<uint64_t>(pt + 8 * i, e.peek<uint64_t>(kPt + 8 * i));
    }
    e.poke<uint64_t>(pd + 8 * 3, pt | 7);
    e.poke<uint64_t>(pt + 8 * 6, (kFn + 0x1000) | 7);
  };
  const Result r = run_both(
      "xor eax, eax\nmov ecx, 20\n"
      ".a: " +
          call + "\ndec ecx\njnz .a\n" + remap +
          "\nmov ecx, 20\n"
          ".b: " +
          call + "\ndec ecx\njnz .b\nhlt",
      setup);
  EXPECT_EQ(r.rax, 20u * 3u + 20u * 3000u);
  EXPECT_GT(r.chained, 20u);   // the JMP inside the page
  EXPECT_GT(r.indirect, 20u);  // the calls into the page (direct or not) and the returns
}

TEST(EmuJitChain, RemappedCodePageIsNotRunThroughOldChains) {
  const std::string pte = "mov qword [" + std::to_string(kPt + 8 * 6) + "], " +
                          std::to_string(kFn + 0x1000 + 7) + "\ninvlpg [" + std::to_string(kFn) +
                          "]";
  const std::string cr3 = "mov rdx, " + std::to_string(kPml4 + 0x5000) + "\nmov cr3, rdx";
  for (const std::string& call : {std::string("call ") + std::to_string(kFn),
                                  "mov edx, " + std::to_string(kFn) + "\ncall rdx"})
    for (const std::string& remap : {pte, cr3}) remap_case(call, remap);
}

// The same with kFn mapped global: a CR3 write keeps its TLB entry, so the old frame's code
// keeps running (interpreter and translator alike) and the translator's lookup entries for it
// survive the write (only non-global pages' entries are dropped).
TEST(EmuJitChain, GlobalCodePageKeepsItsTranslationAcrossCr3Write) {
  for (const std::string& call : {std::string("call ") + std::to_string(kFn),
                                  "mov edx, " + std::to_string(kFn) + "\ncall rdx"}) {
    SCOPED_TRACE(call);
    const auto setup = [](ChainEnv& e) {
      e.load(kFn, assemble(64, "add rax, 1\njmp .n\n.n: add rax, 2\nret", kFn));
      e.load(kFn + 0x1000, assemble(64, "add rax, 1000\nret", kFn));
      e.poke<uint64_t>(kPt + 8 * 6, kFn | 0x107);
      const uint64_t pml4b = kPml4 + 0x5000, pdpt = pml4b + 0x1000, pd = pml4b + 0x2000,
                     pt = pml4b + 0x3000;
      e.poke<uint64_t>(pml4b, pdpt | 7);
      e.poke<uint64_t>(pdpt, pd | 7);
      for (uint64_t i = 0; i < 512; ++i) {
        e.poke<uint64_t>(pd + 8 * i, e.peek<uint64_t>(kPml4 + 0x2000 + 8 * i));
        e.poke<uint64_t>(pt + 8 * i, e.peek<uint64_t>(kPt + 8 * i));
      }
      e.poke<uint64_t>(pd + 8 * 3, pt | 7);
      e.poke<uint64_t>(pt + 8 * 6, (kFn + 0x1000) | 0x107);
    };
    const auto loop = [&](const std::string& label) {
      return "mov ecx, 20\n" + label + ": " + call + "\ndec ecx\njnz " + label + "\n";
    };
    const Result once = run_both("xor eax, eax\n" + loop(".a") + "hlt", setup);
    const Result r =
        run_both("xor eax, eax\n" + loop(".a") + "mov rdx, " + std::to_string(kPml4 + 0x5000) +
                     "\nmov cr3, rdx\n" + loop(".b") + "hlt",
                 setup);
    EXPECT_EQ(once.rax, 20u * 3u);
    EXPECT_EQ(r.rax, 40u * 3u);
    // The second loop's first call into kFn hits the lookup entry the first loop filled (its
    // first return, to a new address, misses); dropped by the CR3 write, it would miss too.
    EXPECT_GT(r.indirect, 2 * once.indirect);
  }
}

// RET and CALL through a register go through the indirect lookup once it knows the target;
// targets that change (two functions in turn) must each be found, never confused.
TEST(EmuJitChain, IndirectCallsAndReturnsUseTheLookup) {
  const Result r = run_both(
      "xor eax, eax\nmov ecx, 400\nlea rsi, [rel .f1]\nlea rdi, [rel .f2]\n"
      ".a: mov rdx, rsi\ntest ecx, 1\njz .c\nmov rdx, rdi\n"
      ".c: call rdx\ndec ecx\njnz .a\nhlt\n"
      ".f1: add rax, 1\nret\n"
      ".f2: add rax, 100\nret");
  EXPECT_EQ(r.rax, 200u * 1u + 200u * 100u);
  EXPECT_GT(r.indirect, 400u);  // the calls and the returns, once warm
}

// An interrupt controller whose interrupt becomes pending from another thread after a while.
struct LateController : bus::InterruptController {
  std::atomic<bool> pending{false};
  std::atomic<uint64_t> polls{0};  // the run loop asks once per visit
  bool interrupt_pending() override {
    ++polls;
    return pending.load();
  }
  std::optional<uint8_t> acknowledge() override {
    if (!pending.exchange(false)) return std::nullopt;
    return 0x40;
  }
};

// A guest spinning in a tight chained loop still gets its timer interrupt: signalled (the
// vCPU's waker calls request_exit) or only polled (then the chain span bounds the wait).
// The handler sets RBX to 0x1234 (after checking the loop's registers, if it wants).
void tight_loop_gets_interrupt(bool signalled,
                               const std::string& loop = "xor eax, eax\n.l: inc rax\njmp .l",
                               const std::string& handler = "mov ebx, 0x1234\nhlt") {
  SCOPED_TRACE(signalled ? "signalled" : "polled");
  ChainEnv e(ExecMode::kJit);
  LateController ic;
  e.cpu.set_interrupt_controller(&ic);
  e.set_gate(0x40, kHandlers);
  e.load(kHandlers, assemble(64, handler, kHandlers));
  e.st().gpr[kRbx] = 0;
  e.load(kCode, assemble(64, "sti\n" + loop, kCode));
  // The interrupt comes once the loop runs chained (the run loop has been visited a few times
  // after the first blocks, each visit at most a chain span apart), whatever the host's load.
  std::thread timer([&] {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (ic.polls.load() < 12 && std::chrono::steady_clock::now() < give_up)
      std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ic.pending = true;
    if (signalled) e.cpu.request_exit();
  });
  // Far more instructions than the wait: without the interrupt it would not halt.
  const StopReason stop = e.cpu.run(4'000'000'000);
  timer.join();
  EXPECT_EQ(stop, StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRbx], 0x1234u);
  EXPECT_GT(e.cpu.jit_chained_jumps(), 1000u) << "the loop did not run chained";
}

TEST(EmuJitChain, TightChainedLoopGetsSignalledInterrupt) {
  tight_loop_gets_interrupt(true);
}

TEST(EmuJitChain, TightChainedLoopGetsPolledInterrupt) {
  tight_loop_gets_interrupt(false);
}

// An interrupt handler for the loops below: RBX = 0x1234 when RCX = RAX(RAX+1)/2 and
// RDX = 2 RAX, else 0xbad.
constexpr const char* kConsistentLoopRegisters =
    "mov rsi, rax\ninc rsi\nimul rsi, rax\nshr rsi, 1\ncmp rsi, rcx\njne .bad\n"
    "lea rdi, [rax+rax]\ncmp rdi, rdx\njne .bad\nmov ebx, 0x1234\nhlt\n"
    ".bad: mov ebx, 0xbad\nhlt";

// The loop keeps RAX, RCX and RDX in host registers across two chained blocks: the interrupt
// must find them written back and consistent (RCX = RAX(RAX+1)/2, RDX = 2 RAX at every block
// boundary), else the handler sets RBX to 0xbad.
TEST(EmuJitChain, InterruptIntoChainedLoopSeesCachedRegisters) {
  const std::string loop =
      "xor eax, eax\nxor ecx, ecx\nxor edx, edx\n"
      ".l: inc rax\nadd rcx, rax\nadd rdx, 2\njmp .m\n"
      ".m: add rdx, rcx\nadd rdx, rax\nsub rdx, rcx\nsub rdx, rax\njmp .l";
  for (bool signalled : {true, false})
    tight_loop_gets_interrupt(signalled, loop, kConsistentLoopRegisters);
}

// A loop of one block runs its passes inside the translation (the loop head, after the cached
// GPRs are loaded). The registers a pass writes stay in host registers from pass to pass: an
// interrupt must still find them written back and consistent.
TEST(EmuJitChain, InterruptIntoOneBlockLoopSeesCachedRegisters) {
  const std::string loop =
      "xor eax, eax\nxor ecx, ecx\nxor edx, edx\n"
      ".l: inc rax\nadd rcx, rax\nadd rdx, 2\nadd rdx, rcx\nadd rdx, rax\nsub rdx, rcx\n"
      "sub rdx, rax\njmp .l";
  for (bool signalled : {true, false})
    tight_loop_gets_interrupt(signalled, loop, kConsistentLoopRegisters);
}

// A pass that faults before it writes a register must still leave that register as the last
// pass wrote it: RSI is written late in each pass, the load that faults comes first (the page
// after 0x7fe000 is not mapped). Flags cross the passes too (CMP at the end, ADC next pass).
TEST(EmuJitChain, FaultInALaterPassOfAOneBlockLoopKeepsEarlierWrites) {
  const std::string src =
      "mov edi, 0x7fe000\nxor esi, esi\nxor edx, edx\nxor ebx, ebx\n"
      ".l: mov rax, [rdi]\nadc rbx, rdx\nadd rdx, rax\nadd rsi, 1\nadd rsi, 2\nadd rdi, 8\n"
      "cmp rsi, 700\njmp .l";
  const std::string handler =
      "mov rax, rdi\nsub rax, 0x7fe000\nshr rax, 3\nimul rax, rax, 3\ncmp rax, rsi\n"
      "jne .bad\nmov r15, 0x600d\nhlt\n.bad: mov r15, 0xbad\nhlt";
  CpuState st[2];
  int i = 0;
  for (ExecMode mode : {ExecMode::kInterp, ExecMode::kJit}) {
    ChainEnv e(mode);
    e.poke<uint64_t>(kPt + 8 * 0x1ff, 0);  // 0x7ff000: not present
    for (uint64_t q = 0; q < 512; ++q) e.poke<uint64_t>(0x7fe000 + 8 * q, q * 0x9e3779b97f4a7c15);
    e.set_gate(14, kHandlers);
    e.load(kHandlers, assemble(64, handler, kHandlers));
    EXPECT_EQ(e.run_code(src, 10'000'000), StopReason::kHalt);
    st[i++] = e.cpu.state();
    if (mode == ExecMode::kJit) {
      EXPECT_GT(e.cpu.jit_chained_jumps(), 400u);
    }
  }
  EXPECT_EQ(st[1].gpr[kR15], 0x600du) << "RSI lost its last pass's value";
  for (int r = 0; r < 16; ++r) EXPECT_EQ(st[0].gpr[r], st[1].gpr[r]) << "gpr " << r;
  EXPECT_EQ(st[0].cr2, st[1].cr2);
}

// The budget runs out in the middle of a one-block loop: the translator stops where the
// interpreter does, to the instruction.
TEST(EmuJitChain, OneBlockLoopStopsAtTheBudget) {
  const std::string src =
      "xor eax, eax\nxor ecx, ecx\n.l: inc rax\nadd rcx, rax\nadd rcx, rcx\njmp .l";
  for (uint64_t budget : {1000u, 1001u, 1002u, 1003u, 50'001u}) {
    CpuState st[2];
    int i = 0;
    for (ExecMode mode : {ExecMode::kInterp, ExecMode::kJit}) {
      ChainEnv e(mode);
      EXPECT_EQ(e.run_code(src, budget), StopReason::kInstructionLimit);
      st[i++] = e.cpu.state();
    }
    EXPECT_EQ(st[0].rip, st[1].rip) << "budget " << budget;
    EXPECT_EQ(st[0].gpr[kRax], st[1].gpr[kRax]) << "budget " << budget;
    EXPECT_EQ(st[0].gpr[kRcx], st[1].gpr[kRcx]) << "budget " << budget;
  }
}

// Runs `src` to its HLT on both engines: every GPR and RFLAGS must end as the interpreter's.
// Returns the translator's chained jumps and indirect-lookup hits.
std::pair<uint64_t, uint64_t> expect_same_transitions(const std::string& src) {
  CpuState st[2];
  uint64_t chained = 0, indirect = 0;
  int i = 0;
  for (ExecMode mode : {ExecMode::kInterp, ExecMode::kJit}) {
    ChainEnv e(mode);
    EXPECT_EQ(e.run_code(src, 10'000'000), StopReason::kHalt);
    st[i++] = e.cpu.state();
    chained = e.cpu.jit_chained_jumps();
    indirect = e.cpu.jit_indirect_hits();
  }
  for (int r = 0; r < 16; ++r) EXPECT_EQ(st[0].gpr[r], st[1].gpr[r]) << "gpr " << r;
  EXPECT_EQ(st[0].rflags, st[1].rflags);
  return {chained, indirect};
}

// Values in cached registers go through patched jumps (JMP, Jcc, fall-through), the indirect
// lookup (CALL reg, RET) and the run loop: every GPR must end as the interpreter's.
TEST(EmuJitChain, CachedRegistersCrossChainedAndIndirectTransitions) {
  const std::string src =
      "xor eax, eax\nmov ecx, 300\nmov edx, 7\nxor esi, esi\nmov r8, 3\nmov r9, 5\n"
      "lea rdi, [rel .f]\n"
      ".a: add rax, rcx\nadd rdx, rax\nxor rsi, rdx\nadd r8, rsi\njmp .b\n"
      ".b: add rsi, rcx\nadd rax, r8\nimul rdx, rdx, 3\ntest cl, 1\njz .c\n"
      "add r9, rax\nadd r9, rdx\nadd r8, r9\n"
      ".c: call rdi\nadd rax, rdx\nadd rsi, rax\ncall .g\ndec ecx\njnz .a\nhlt\n"
      ".f: add rdx, rsi\nadd rsi, rax\nrol rdx, 7\nret\n"
      ".g: push rax\nadd rax, rdx\nadd rdx, [rsp]\npop rsi\nadd rsi, rdx\nret";
  const auto [chained, indirect] = expect_same_transitions(src);
  EXPECT_GT(chained, 300u);
  EXPECT_GT(indirect, 600u);  // the two calls' returns, CALL reg
}

// Blocks hand the guest's flags to each other in a host register: flags made in one block and
// read in the next, through patched jumps and returns, from full writers (ADD, CMP), a partial
// one (INC keeps CF) and handlers (BSF, POPFQ: their flags are in st.rflags when the block
// leaves), read by ADC, SETcc, CMOVcc and Jcc; the same state as the interpreter's.
TEST(EmuJitChain, FlagsCrossChainedAndIndirectTransitions) {
  const std::string src =
      "xor eax, eax\nmov ecx, 200\nmov edx, 0x9e3779b9\nxor esi, esi\nxor edi, edi\n"
      ".a: add edx, edx\njmp .b\n"
      ".b: adc eax, 1\ncmp edx, ecx\njmp .c\n"
      ".c: setb r8b\nadd rsi, r8\ninc rdi\ncall .f\n"
      "cmovc r9, rdi\nadd rsi, r9\nbsf r10, rdx\njmp .d\n"
      ".d: jz .e\nadd rsi, r10\n"
      ".e: pushfq\nxor qword [rsp], 0x8d5\npopfq\njmp .g\n"
      ".g: adc rsi, 0\nsetnz r11b\nadd rdi, r11\nimul edx, edx, 3\ndec ecx\njnz .a\nhlt\n"
      ".f: adc rax, rax\nret";
  const auto [chained, indirect] = expect_same_transitions(src);
  EXPECT_GT(chained, 600u);
  EXPECT_GT(indirect, 150u);  // the returns
}

// INVLPG of a page no block was fetched from cannot change where a RIP leads: the returns
// keep hitting the indirect lookup (a new lookup generation per INVLPG would miss them all).
// An INVLPG of the code page itself still starts a new one (RemappedCodePage... above).
TEST(EmuJitChain, InvlpgOfADataPageKeepsTheIndirectLookup) {
  const std::string src =
      "xor eax, eax\nmov ecx, 500\nmov edi, 0x700000\n"
      ".a: invlpg [rdi]\nmov rdx, [rdi]\ncall .f\nadd rax, rdx\ndec ecx\njnz .a\nhlt\n"
      ".f: add rax, 3\nret";
  const auto [chained, indirect] = expect_same_transitions(src);
  EXPECT_GT(indirect, 450u) << "the returns missed the lookup";
}

// An instruction crossing from one 4 KiB page into the next (add rax, imm32 with the imm's last
// three bytes on the second page) is cached and translated as a block of its own, valid only
// while the second page maps the frame it was decoded from: after the second page is remapped
// to a frame with other tail bytes, or its bytes are rewritten, the new instruction runs.
constexpr uint64_t kCross = 0x608ffd;  // 48 05 b0 | b1 b2 b3 c3 (ret)
void crossing_case(const std::string& change, uint64_t imm_after) {
  SCOPED_TRACE(change);
  const auto setup = [](ChainEnv& e) {
    e.load(kCross, {0x48, 0x05, 0x01, 0x00, 0x00, 0x00, 0xc3});  // add rax, 1; ret
    e.load(0x60a000, {0x01, 0x00, 0x00, 0xc3});                  // tail of add rax, 0x101
  };
  const Result r = run_both(
      "xor eax, eax\nmov ecx, 20\n"
      ".a: call " +
          std::to_string(kCross) + "\ndec ecx\njnz .a\n" + change +
          "\nmov ecx, 20\n"
          ".b: call " +
          std::to_string(kCross) + "\ndec ecx\njnz .b\nhlt",
      setup);
  EXPECT_EQ(r.rax, 20u * 1u + 20u * imm_after);
}

TEST(EmuJitChain, PageCrossingInstructionFollowsItsSecondPage) {
  const std::string pte = "mov qword [" + std::to_string(kPt + 8 * 9) + "], " +
                          std::to_string(0x60a000 + 7) + "\ninvlpg [" + std::to_string(0x609000) +
                          "]";
  crossing_case(pte, 0x101);
  crossing_case("mov byte [" + std::to_string(0x609000) + "], 2", 0x201);
  crossing_case("mov byte [" + std::to_string(0x608fff) + "], 3", 3);
}

// The head page mapped twice, each next to another tail frame: the one cached block at the
// head's address is right for one alias at a time, and calls alternating between the two must
// each run their own instruction.
TEST(EmuJitChain, PageCrossingInstructionUnderTwoAliases) {
  const auto setup = [](ChainEnv& e) {
    e.load(kCross, {0x48, 0x05, 0x01, 0x00, 0x00, 0x00, 0xc3});
    e.load(0x60a000, {0x01, 0x00, 0x00, 0xc3});
    e.poke<uint64_t>(kPt + 8 * 0xb, 0x608000 | 7);  // 0x60b000: the head frame again
    e.poke<uint64_t>(kPt + 8 * 0xc, 0x60a000 | 7);  // 0x60c000: the other tail frame
  };
  const Result r = run_both(
      "xor eax, eax\nmov ecx, 20\n"
      ".a: call " +
          std::to_string(kCross) + "\ncall " + std::to_string(kCross + 0x3000) +
          "\ndec ecx\njnz .a\nhlt",
      setup);
  EXPECT_EQ(r.rax, 20u * (1u + 0x101u));
}

}  // namespace
}  // namespace vessel::engine::emu::test
