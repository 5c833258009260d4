// The code translations share (SharedStubs: C entry, epilogue, status returns, exit tails,
// indirect lookup, slow-path calls) and the instruction copies handler calls use: a
// translation runs on its own, without its block's decoded instructions, before and after a
// cache flush (which must emit the shared code again), and a retired translation that a
// patched jump still leads to is left through its not-run path.
#include <cstring>

#include "emu_test_util.hpp"

#include "engine/emu/jit/jit.hpp"
#include "x86/decode/decoder.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

struct Decoded {
  std::vector<x86::DecodedInst> insts;
  std::vector<Handler> handlers;
  uint64_t bytes = 0;  // the code's length
};

// Decodes `src`, assembled at `at` and loaded there.
Decoded load_block(Env& e, uint64_t at, const std::string& src) {
  const auto code = assemble(64, src, at);
  e.load(at, code);
  Decoded b;
  x86::Decoder dec;
  for (size_t i = 0; i < code.size();) {
    x86::DecodedInst in;
    EXPECT_EQ(dec.decode(x86::CodeMode::k64, code.data() + i, code.size() - i, in),
              x86::DecodeStatus::kOk);
    if (!in.length) break;
    b.insts.push_back(in);
    b.handlers.push_back(handler_table()[in.op]);
    i += in.length;
  }
  b.bytes = code.size();
  return b;
}

jit::BlockFn translate(jit::Jit& j, uint64_t gpa, const Decoded& b) {
  return jit::translate(j, gpa, b.insts, b.handlers, x86::CodeMode::k64, false);
}

// Overwrites and frees the decoded instructions, as run_translated drops them.
void drop(Decoded& b) {
  std::memset(static_cast<void*>(b.insts.data()), 0xa5, b.insts.size() * sizeof(b.insts[0]));
  b.insts.clear();
  b.insts.shrink_to_fit();
}

struct Outcome {
  uint32_t status;
  jit::RunCounters counters;
};
Outcome run(Env& e, jit::BlockFn fn, uint64_t rip) {
  e.st().rip = rip;
  Outcome r{0, jit::RunCounters::with_budget(1000)};
  e.cpu.jit_run = r.counters;
  r.status = fn(&e.cpu);
  r.counters = e.cpu.jit_run;
  return r;
}

struct JitEnv : Env {
  JitEnv() {
    long_mode(kCode);
    cpu.state_changed();
  }
};

// SHLD and SHRD go through their interpreter handlers (call threading), which read their
// operands and counts from the instruction the code was made with.
constexpr const char* kCalls = "shld rdx, rcx, 12\nshrd rsi, rcx, 20\nadd rax, 1";

void expect_calls_ran(JitEnv& e, const Outcome& r, uint64_t rip_after) {
  EXPECT_EQ(r.status, jit::kRanToEnd);
  const uint64_t rcx = 0x123456789abcdef0;
  EXPECT_EQ(e.st().gpr[kRdx], (0x1111ull << 12) | (rcx >> 52));
  EXPECT_EQ(e.st().gpr[kRsi], (0x2222ull >> 20) | (rcx << 44));
  EXPECT_EQ(e.st().gpr[kRax], 8u);
  EXPECT_EQ(e.st().rip, rip_after);
  EXPECT_EQ(r.counters.budget(), 1000u - 3u);
}
void set_call_inputs(JitEnv& e) {
  e.st().gpr[kRcx] = 0x123456789abcdef0;
  e.st().gpr[kRdx] = 0x1111;
  e.st().gpr[kRsi] = 0x2222;
  e.st().gpr[kRax] = 7;
}

TEST(EmuJitShared, HandlerCallsRunWithoutTheBlocksDecodedInstructions) {
  JitEnv e;
  jit::Jit j(e.cpu);
  Decoded b = load_block(e, kCode, kCalls);
  ASSERT_EQ(b.insts.size(), 3u);
  const jit::BlockFn fn = translate(j, kCode, b);
  ASSERT_NE(fn, nullptr);
  ASSERT_EQ(j.stats.called_insts, 2u) << "pick instructions that are still handler calls";
  EXPECT_EQ(j.called.size(), 2u);  // the Jit's copies the code points at
  const uint64_t end = kCode + b.bytes;
  drop(b);
  set_call_inputs(e);
  expect_calls_ran(e, run(e, fn, kCode), end);
  // Again: nothing the first run did changed what the code relies on.
  set_call_inputs(e);
  expect_calls_ran(e, run(e, fn, kCode), end);
}

TEST(EmuJitShared, FlushEmitsTheSharedCodeAgainAndDropsTheCopies) {
  JitEnv e;
  jit::Jit j(e.cpu);
  ASSERT_TRUE(j.cache.ok());
  Decoded b = load_block(e, kCode, kCalls);
  ASSERT_NE(translate(j, kCode, b), nullptr);
  const uint64_t gen = j.cache.generation();
  j.flush();
  EXPECT_EQ(j.cache.generation(), gen + 1);
  EXPECT_TRUE(j.called.empty());
  EXPECT_TRUE(j.slots.empty());
  // The shared code is at the start of the new generation, before any translation.
  ASSERT_NE(j.stubs.enter, nullptr);
  EXPECT_LT(static_cast<const uint8_t*>(j.stubs.enter), j.cache.free_ptr());
  const jit::BlockFn fn = translate(j, kCode, b);
  ASSERT_NE(fn, nullptr);
  EXPECT_GT(reinterpret_cast<const uint8_t*>(fn), static_cast<const uint8_t*>(j.stubs.enter));
  EXPECT_EQ(j.called.size(), 2u);
  const uint64_t end = kCode + b.bytes;
  drop(b);
  set_call_inputs(e);
  expect_calls_ran(e, run(e, fn, kCode), end);
}

// Block A falls through into block B (same page) by a patched jump; once B is retired, a jump
// patched by hand still leads to B's chained entry, which must leave at once with kNotRun and
// st.rip at B, B not run; a jump linked by chain() is pointed back at A's own exit.
TEST(EmuJitShared, RetiredBlockIsLeftThroughItsNotRunPath) {
  JitEnv e;
  jit::Jit j(e.cpu);
  const uint64_t kB = kCode + 0x40;
  Decoded a = load_block(e, kCode, "add rax, 1\njmp " + std::to_string(kB));
  Decoded b = load_block(e, kB, "add rax, 2\nadd rcx, 3\njmp " + std::to_string(kB + 0x40));
  const jit::BlockFn fa = translate(j, kCode, a);
  ASSERT_NE(fa, nullptr);
  ASSERT_EQ(j.slots.size(), 1u);  // A's direct exit towards B
  jit::ExitSlot& to_b = j.slots.front();
  EXPECT_EQ(to_b.target_gpa, kB);
  const jit::BlockFn fb = translate(j, kB, b);
  ASSERT_NE(fb, nullptr);

  // Not linked yet: A leaves by its slot.
  e.st().gpr[kRax] = 0;
  j.exit_slot = nullptr;
  Outcome r = run(e, fa, kCode);
  EXPECT_EQ(r.status, jit::kRanToEnd);
  EXPECT_EQ(j.exit_slot, &to_b);
  EXPECT_EQ(e.st().rip, kB);
  EXPECT_EQ(e.st().gpr[kRax], 1u);

  // Linked: A runs on into B.
  jit::patch_jump(to_b.jump, jit::header_of(fb).chained);
  e.st().gpr[kRax] = 0;
  e.st().gpr[kRcx] = 0;
  r = run(e, fa, kCode);
  EXPECT_EQ(r.status, jit::kRanToEnd);
  EXPECT_EQ(r.counters.chained(), 1u);
  EXPECT_EQ(r.counters.budget(), 1000u - 5u);
  EXPECT_EQ(e.st().gpr[kRax], 3u);
  EXPECT_EQ(e.st().gpr[kRcx], 3u);
  EXPECT_EQ(e.st().rip, kB + 0x40);

  // B retired: A's patched jump reaches B's not-run path.
  jit::retire(fb);
  e.st().gpr[kRax] = 0;
  e.st().gpr[kRcx] = 0;
  r = run(e, fa, kCode);
  EXPECT_EQ(r.status, jit::kNotRun);
  EXPECT_EQ(r.counters.chained(), 0u);
  EXPECT_EQ(r.counters.budget(), 1000u - 2u);
  EXPECT_EQ(e.st().gpr[kRax], 1u);
  EXPECT_EQ(e.st().gpr[kRcx], 0u);
  EXPECT_EQ(e.st().rip, kB);

  // Linked through chain() to a new translation of B, which is then retired: the jump goes
  // back to A's exit stub (the run loop links it again), not into B's not-run path.
  const jit::BlockFn fb2 = translate(j, kB, b);
  ASSERT_NE(fb2, nullptr);
  jit::chain(&to_b, fb2);
  e.st().gpr[kRax] = 0;
  r = run(e, fa, kCode);
  EXPECT_EQ(r.counters.chained(), 1u);
  EXPECT_EQ(e.st().gpr[kRax], 3u);
  jit::retire(fb2);
  e.st().gpr[kRax] = 0;
  j.exit_slot = nullptr;
  r = run(e, fa, kCode);
  EXPECT_EQ(r.status, jit::kRanToEnd);
  EXPECT_EQ(j.exit_slot, &to_b);
  EXPECT_EQ(r.counters.chained(), 0u);
  EXPECT_EQ(e.st().gpr[kRax], 1u);
  EXPECT_EQ(e.st().rip, kB);
}

// A chained entry with too little budget for its block refuses it (kNotRun) through the shared
// return, while the C entry of the same translation runs it.
TEST(EmuJitShared, ChainedEntryRefusesABlockLongerThanTheBudget) {
  JitEnv e;
  jit::Jit j(e.cpu);
  const uint64_t kB = kCode + 0x40;
  Decoded a = load_block(e, kCode, "add rax, 1\njmp " + std::to_string(kB));
  Decoded b = load_block(e, kB, "add rax, 2\nadd rax, 4\nadd rax, 8\nhlt");
  const jit::BlockFn fa = translate(j, kCode, a);
  const jit::BlockFn fb = translate(j, kB, b);
  ASSERT_NE(fa, nullptr);
  ASSERT_NE(fb, nullptr);
  jit::patch_jump(j.slots.front().jump, jit::header_of(fb).chained);
  e.st().gpr[kRax] = 0;
  e.st().rip = kCode;
  e.cpu.jit_run = jit::RunCounters::with_budget(4);  // A takes 2, B needs 4
  EXPECT_EQ(fa(&e.cpu), jit::kNotRun);
  EXPECT_EQ(e.st().gpr[kRax], 1u);
  EXPECT_EQ(e.st().rip, kB);
  EXPECT_EQ(e.cpu.jit_run.budget(), 2u);
}

}  // namespace
}  // namespace vessel::engine::emu::test
