// Bulk REP MOVS / STOS (interp/string_bulk.cpp): runs within one page go as one memmove or
// fill, so these tests check that the result is exactly the one-element-at-a-time result:
// memory and RCX/RSI/RDI after runs of every element size in both directions that cross
// pages, overlapping operands, a fault in the middle of a run, code overwritten by the
// run (translated blocks on it must not run again), MMIO at either end, and zeros stored onto
// untouched RAM, which must stay unwritten. Run on the
// interpreter and on the translator, which calls the same handlers.
#include "../host_pages.hpp"
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kPt = kPml4 + 0x3000;  // a 4 KiB page table for 0x600000-0x7fffff
constexpr uint64_t kArea = 0x600000, kAreaSize = 0x200000;
constexpr uint64_t kMmio = 0x8000000;  // past the 64 MiB of RAM, inside the identity map

struct Case {
  bool movs;
  unsigned size;
  bool down;
  uint64_t src, dst, count;
};

class EmuRepBulkTest : public ::testing::TestWithParam<ExecMode> {
 protected:
  Env env;
  void SetUp() override {
    env.long_mode(kCode);
    env.poke<uint64_t>(kPml4 + 0x2000 + 8 * 3, kPt | 7);
    for (uint64_t i = 0; i < 512; ++i) set_pte(i, 7);
    env.set_gate(vec::kPF, kHandlers);
    env.set_gate(vec::kGP, kHandlers);
    // A fault stores its error code in r15 and CR2 in r14, then halts.
    env.load(kHandlers, assemble(64, "pop r15\nmov r14, cr2\nhlt"));
    env.cpu.state_changed();
    env.cpu.set_exec_mode(GetParam());
    env.cpu.set_jit_threshold(0);
    for (uint64_t i = 0; i < kAreaSize; i += 8)
      env.poke<uint64_t>(kArea + i, (i + 1) * 0x9e3779b97f4a7c15ull);
  }
  // Runs `src` from kCode (tests run several programs one after the other).
  StopReason run(const std::string& src) {
    env.st().rip = kCode;
    env.st().events.halted = false;
    return env.run_code(src, 1'000'000);
  }
  void set_pte(uint64_t i, uint64_t flags) {
    env.poke<uint64_t>(kPt + 8 * i, (kArea + (i << 12)) | flags);
  }
  std::vector<uint8_t> area() {
    std::vector<uint8_t> out(kAreaSize);
    EXPECT_TRUE(env.mem.read(kArea, out).has_value());
    return out;
  }
  static std::string mnemonic(const Case& k) {
    static const char* suffix = "bw?d???q";
    return std::string(k.movs ? "movs" : "stos") + suffix[k.size - 1];
  }
  // Runs the case and compares memory and registers with an element-by-element model.
  void check(const Case& k) {
    SCOPED_TRACE(mnemonic(k) + (k.down ? " std" : " cld") + " src " + std::to_string(k.src) +
                 " dst " + std::to_string(k.dst) + " count " + std::to_string(k.count));
    std::vector<uint8_t> want = area();
    const uint64_t value = 0x1122334455667788ull;
    uint64_t rsi = k.src, rdi = k.dst;
    for (uint64_t i = 0; i < k.count; ++i) {
      for (unsigned b = 0; b < k.size; ++b)
        want[rdi - kArea + b] = k.movs ? want[rsi - kArea + b] : uint8_t(value >> (8 * b));
      rsi += k.down ? -uint64_t{k.size} : k.size;
      rdi += k.down ? -uint64_t{k.size} : k.size;
    }
    const std::string src = std::string(k.down ? "std" : "cld") + "\nmov rsi, " +
                            std::to_string(k.src) + "\nmov rdi, " + std::to_string(k.dst) +
                            "\nmov rcx, " + std::to_string(k.count) + "\nmov rax, " +
                            std::to_string(value) + "\nrep " + mnemonic(k) + "\ncld\nhlt";
    ASSERT_EQ(run(src), StopReason::kHalt) << env.cpu.error();
    EXPECT_EQ(env.st().gpr[kRcx], 0u);
    EXPECT_EQ(env.st().gpr[kRdi], rdi);
    if (k.movs) {
      EXPECT_EQ(env.st().gpr[kRsi], rsi);
    }
    const std::vector<uint8_t> got = area();
    for (uint64_t i = 0; i < kAreaSize; ++i)
      ASSERT_EQ(got[i], want[i]) << "at " << std::hex << kArea + i;
  }
};

TEST_P(EmuRepBulkTest, EverySizeAndDirectionAcrossPagesMatchesElementwise) {
  for (bool movs : {false, true})
    for (unsigned size : {1u, 2u, 4u, 8u})
      for (bool down : {false, true}) {
        // Three pages and a bit, from odd offsets, so runs start and end mid-page.
        const uint64_t count = (3 * 4096 + 100) / size;
        const uint64_t src = down ? 0x614ffb : 0x610005, dst = down ? 0x624ffd : 0x620003;
        check({movs, size, down, src, dst, count});
      }
}

TEST_P(EmuRepBulkTest, ElementsStraddlingPagesAndUnalignedRuns) {
  for (unsigned size : {2u, 4u, 8u}) {
    check({true, size, false, 0x630fff, 0x640ffd, 2048 / size * 3});
    check({false, size, true, 0, 0x651001, 2048 / size * 3});
  }
}

TEST_P(EmuRepBulkTest, OverlappingMovsPropagatesLikeOneElementAtATime) {
  for (unsigned size : {1u, 2u, 4u, 8u})
    for (uint64_t distance : {1ull, 3ull, 8ull, 13ull, 100ull, 5000ull}) {
      const uint64_t count = 9000 / size;
      check({true, size, false, 0x660000 + 7, 0x660000 + 7 + distance, count});  // dst ahead
      check({true, size, true, 0x680000 - 7, 0x680000 - 7 - distance, count});   // DF=1
      check({true, size, false, 0x690000 + distance, 0x690000, count});          // dst behind
    }
}

TEST_P(EmuRepBulkTest, PageFaultMidRunLeavesExactRegistersAndMemory) {
  // Destination page 0x631000 is not present: the qword run stops at its first element.
  set_pte(0x31, 0);
  const std::vector<uint8_t> before = area();
  ASSERT_EQ(run("cld\nmov rdi, 0x630800\nmov rcx, 1024\nmov rax, -1\nrep stosq\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(env.st().gpr[kR14], 0x631000u);  // CR2
  EXPECT_EQ(env.st().gpr[kR15], 2u);         // not present, write
  EXPECT_EQ(env.st().gpr[kRcx], 1024u - 256u);
  EXPECT_EQ(env.st().gpr[kRdi], 0x631000u);
  for (uint64_t a = 0x630000; a < 0x632000; a += 8)
    EXPECT_EQ(env.peek<uint64_t>(a), a >= 0x630800 && a < 0x631000
                                         ? ~0ull
                                         : *reinterpret_cast<const uint64_t*>(&before[a - kArea]))
        << std::hex << a;
}

TEST_P(EmuRepBulkTest, PageFaultOnSourceGoingDownAndOnAStraddlingElement) {
  set_pte(0x40, 0);  // source page 0x640000 below the start
  ASSERT_EQ(run("std\nmov rsi, 0x641010\nmov rdi, 0x652010\nmov rcx, 100\nrep movsb\n"
                "cld\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(env.st().gpr[kR14], 0x640fffu);
  EXPECT_EQ(env.st().gpr[kR15], 0u);  // not present, read
  EXPECT_EQ(env.st().gpr[kRcx], 100u - 17u);
  EXPECT_EQ(env.st().gpr[kRsi], 0x640fffu);
  EXPECT_EQ(env.st().gpr[kRdi], 0x651fffu);
  for (uint64_t i = 0; i < 17; ++i)
    EXPECT_EQ(env.peek<uint8_t>(0x652010 - i), env.peek<uint8_t>(0x641010 - i)) << i;

  // A dword across into a not-present page faults before either half is written.
  set_pte(0x71, 0);
  env.cpu.state_changed();
  const uint16_t tail = env.peek<uint16_t>(0x670ffe);
  ASSERT_EQ(run("cld\nmov rdi, 0x670ffa\nmov rcx, 4\nmov eax, 0xabcdef01\nrep stosd\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(env.st().gpr[kR14], 0x671000u);
  EXPECT_EQ(env.st().gpr[kRcx], 3u);
  EXPECT_EQ(env.st().gpr[kRdi], 0x670ffeu);
  EXPECT_EQ(env.peek<uint32_t>(0x670ffa), 0xabcdef01u);
  EXPECT_EQ(env.peek<uint16_t>(0x670ffe), tail);
}

// A function on page 0x6a0000 runs (and is translated), then a REP run that starts on the
// page before overwrites it: the next call must run the new bytes.
TEST_P(EmuRepBulkTest, RunOverwritingTranslatedCodeInvalidatesIt) {
  for (bool movs : {true, false}) {
    SCOPED_TRACE(movs ? "rep movsb" : "rep stosd");
    env.load(0x6a0000, assemble(64, "mov eax, 1\nret"));
    env.load(0x6b0000, assemble(64, "mov eax, 2\nret\nnop\nnop"));  // 8 bytes
    // stosd: each dword is "mov al, 2; ret; nop".
    const std::string overwrite =
        movs ? "mov rsi, 0x6b0000 - 64\nmov rdi, 0x6a0000 - 64\nmov rcx, 72\n"
               "mov rax, 0x6b0000\nmov r10, [rax]\nmov [rsi + 64], r10\nrep movsb\n"
             : "mov rdi, 0x6a0000 - 64\nmov rcx, 32\nmov eax, 0x90c302b0\nrep stosd\n";
    ASSERT_EQ(run("mov rbx, 0x6a0000\ncall rbx\ncall rbx\nmov r8, rax\n" + overwrite +
                  "xor eax, eax\ncall rbx\nmov r9, rax\nhlt"),
              StopReason::kHalt)
        << env.cpu.error();
    EXPECT_EQ(env.st().gpr[kR8], 1u);
    EXPECT_EQ(env.st().gpr[kR9], 2u);
    env.cpu.state_changed();
  }
}

// The REP instruction overwrites the instruction right after it, in its own block.
TEST_P(EmuRepBulkTest, RunOverwritingTheNextInstructionOfItsBlock) {
  ASSERT_EQ(run("xor eax, eax\nlea rdi, [rel patch]\nmov ecx, 5\nmov al, 0x90\n"
                "cld\nrep stosb\npatch: mov eax, 0x12345678\nhlt"),
            StopReason::kHalt)
      << env.cpu.error();
  EXPECT_EQ(env.st().gpr[kRax], 0x90u);
}

// REP STOSQ of zeros over RAM nobody wrote leaves the host pages unwritten (the shared zero
// page) from the first element on; the same over written pages, or of another value, stores.
TEST_P(EmuRepBulkTest, ZerosOntoUntouchedRamAreNotWritten) {
  constexpr uint64_t kFresh = 0x1000000, kPages = 16;  // 16 MiB: nothing there yet
  const auto host = env.mem.span(kFresh, 2 * kPages * 4096);
  ASSERT_TRUE(host.has_value());
  const uint8_t* const p = host->data();
  ASSERT_EQ(vessel::test::exclusive_pages(p, 2 * kPages).value_or(0), 0u);
  const std::string fill = "mov rdi, " + std::to_string(kFresh) + "\nmov ecx, " +
                           std::to_string(kPages * 512) + "\nrep stosq\nhlt";
  ASSERT_EQ(run("xor eax, eax\n" + fill), StopReason::kHalt);
  EXPECT_EQ(env.st().gpr[kRcx], 0u);
  EXPECT_EQ(env.st().gpr[kRdi], kFresh + kPages * 4096);
  const std::optional<size_t> written = vessel::test::exclusive_pages(p, 2 * kPages);
  if (!written) GTEST_SKIP() << "/proc/self/pagemap is not readable here";
  EXPECT_EQ(*written, 0u);
  ASSERT_EQ(run("mov eax, 1\n" + fill), StopReason::kHalt);  // ones: every page written
  EXPECT_EQ(vessel::test::exclusive_pages(p, 2 * kPages).value_or(0), kPages);
  ASSERT_EQ(run("xor eax, eax\n" + fill), StopReason::kHalt);  // zeros over them: stored
  for (uint64_t i = 0; i < kPages * 4096; i += 8)
    ASSERT_EQ(env.peek<uint64_t>(kFresh + i), 0u) << "at " << i;
}

TEST_P(EmuRepBulkTest, MmioDestinationAndSourceGoElementByElement) {
  ASSERT_EQ(run("cld\nmov rdi, " + std::to_string(kMmio) +
                "\nmov rcx, 5\nmov eax, 0xcafe0001\nrep stosd\n"
                "mov rsi, " +
                std::to_string(kMmio + 0x100) +
                "\nmov rdi, 0x6c0000\nmov rcx, 3\nrep movsd\n"
                "mov rsi, 0x6d0000\nmov rdi, " +
                std::to_string(kMmio + 0x200) + "\nmov rcx, 2\nrep movsq\nhlt"),
            StopReason::kHalt)
      << env.cpu.error();
  ASSERT_EQ(env.io.mmio_writes.size(), 7u);
  for (uint64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(env.io.mmio_writes[i].first, kMmio + 4 * i);
    EXPECT_EQ(env.io.mmio_writes[i].second, 0xcafe0001u);
  }
  for (uint64_t i = 0; i < 2; ++i) {
    EXPECT_EQ(env.io.mmio_writes[5 + i].first, kMmio + 0x200 + 8 * i);
    EXPECT_EQ(env.io.mmio_writes[5 + i].second, env.peek<uint64_t>(0x6d0000 + 8 * i));
  }
  for (uint64_t i = 0; i < 3; ++i) EXPECT_EQ(env.peek<uint32_t>(0x6c0000 + 4 * i), 0x11223344u);
  EXPECT_NE(env.peek<uint32_t>(0x6c000c), 0x11223344u);
}

// 32-bit code (compatibility mode): a run reaching ES's limit stops with #GP at the first
// element past it, everything before it written.
TEST_P(EmuRepBulkTest, SegmentLimitMidRunFaultsAtTheExactElement) {
  env.st().seg[kCs].l = false;
  env.st().seg[kCs].db = true;
  env.st().seg[kCs].selector = 0x18;
  env.st().seg[kEs].limit = 0x630fff;
  env.st().rip = kCode;
  env.load(kCode, assemble(32,
                           "cld\nmov edi, 0x630f00\nmov ecx, 0x200\nmov eax, 0x5a5a5a5a\n"
                           "rep stosw\nhlt",
                           kCode));
  const uint16_t past = env.peek<uint16_t>(0x631000);
  ASSERT_EQ(env.cpu.run(1'000'000), StopReason::kHalt) << env.cpu.error();
  EXPECT_EQ(env.st().gpr[kR15], 0u);  // #GP(0)
  EXPECT_EQ(env.st().gpr[kRcx], 0x200u - 0x80u);
  EXPECT_EQ(env.st().gpr[kRdi], 0x631000u);
  for (uint64_t a = 0x630f00; a < 0x631000; a += 2) EXPECT_EQ(env.peek<uint16_t>(a), 0x5a5au);
  EXPECT_EQ(env.peek<uint16_t>(0x631000), past);
}

INSTANTIATE_TEST_SUITE_P(Modes, EmuRepBulkTest,
                         ::testing::Values(ExecMode::kInterp, ExecMode::kJit));

}  // namespace
}  // namespace vessel::engine::emu::test
