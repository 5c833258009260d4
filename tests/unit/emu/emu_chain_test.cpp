// Fast-path tests of the software CPU: block chaining (a linked successor must not outlive
// INVLPG, a CR3 write or self-modifying code), the fresh (POPFQ-free) flag forms and the
// plain C++ INC/DEC flags against the host's own instructions.
#include "emu_test_util.hpp"

#include "engine/emu/interp/alu_ops.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kPt = kPml4 + 0x3000;  // a 4 KiB page table for 0x600000-0x7fffff
constexpr uint64_t kArea = 0x600000;

struct PagingEnv : Env {
  PagingEnv() {
    long_mode(kCode);
    poke<uint64_t>(kPml4 + 0x2000 + 8 * 3, kPt | 7);
    for (uint64_t i = 0; i < 512; ++i) poke<uint64_t>(kPt + 8 * i, (kArea + (i << 12)) | 7);
    cpu.state_changed();
  }
};

// A loop calls code on a 4 KiB page often enough for the call and the return to be chained,
// then remaps that page to another frame (different code) and executes INVLPG: the next
// call must run the new frame's code.
TEST(EmuChain, InvlpgBreaksChainedSuccessor) {
  PagingEnv e;
  e.load(0x606000, assemble(64, "add rax, 1\nret"));
  e.load(0x607000, assemble(64, "add rax, 1000\nret"));
  ASSERT_EQ(e.run_code("xor eax, eax\nmov ecx, 10\n"
                       ".a: call 0x606000\ndec ecx\njnz .a\n"
                       "mov qword [" +
                       std::to_string(kPt + 8 * 6) +
                       "], 0x607007\n"
                       "invlpg [0x606000]\nmov ecx, 10\n"
                       ".b: call 0x606000\ndec ecx\njnz .b\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 10u + 10u * 1000u);
}

// The loop rewrites the immediate of an instruction in a block it has already chained to.
TEST(EmuChain, SelfModifyingCodeBreaksChainedSuccessor) {
  PagingEnv e;
  ASSERT_EQ(e.run_code("xor eax, eax\nmov ecx, 6\n"
                       ".a: call .f\n"
                       "cmp ecx, 4\njne .n\n"
                       "mov byte [rel .imm], 50\n"  // from the 3rd call on: add rax, 50
                       ".n: dec ecx\njnz .a\nhlt\n"
                       ".f: db 0x48, 0x83, 0xc0\n"  // add rax, imm8
                       ".imm: db 1\nret"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 1u + 1u + 1u + 50u + 50u + 50u);
}

// A device (DMA, GuestMemory::write) replaces code the CPU has run and cached, as a disk read
// into a page-cache page that held another program does: the next run must see the new code.
TEST(EmuChain, DeviceWrittenCodeIsNotRunStale) {
  Env e;
  e.long_mode(kCode);
  constexpr uint64_t kFunction = 0x300000;
  e.load(kFunction, assemble(64, "mov eax, 1\nret", kFunction));
  const std::string caller = "mov ecx, 8\n.a: call 0x300000\ndec ecx\njnz .a\nhlt";
  ASSERT_EQ(e.run_code(caller), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 1u);
  e.load(kFunction, assemble(64, "mov eax, 2\nret", kFunction));  // the "device" write
  e.st().events.halted = false;
  e.st().rip = kCode;
  ASSERT_EQ(e.cpu.run(100000), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 2u);
}

// Cross-modifying code: vCPU 1 rewrites a function vCPU 0 has run (and cached), through a TLB
// entry it filled with the fast write path before vCPU 0 ever ran code there. vCPU 0's next
// call must run the new code.
TEST(EmuChain, CodeWrittenByAnotherVcpuIsNotRunStale) {
  Env e;
  e.long_mode(kCode);
  auto shared = std::make_shared<SharedCodePages>(e.mem.ram_size() >> 12);
  e.cpu.share_code_pages(shared);
  FakeIo io1;
  Cpu other(e.mem, io1, 1);
  other.share_code_pages(shared);
  auto run_other = [&](uint64_t at, const std::string& src) {
    e.load(at, assemble(64, src, at));
    other.state() = e.st();
    other.state().events.halted = false;
    other.state().rip = at;
    other.state_changed();
    return other.run(100000);
  };
  constexpr uint64_t kFunction = 0x300000;
  e.load(kFunction, assemble(64, "mov eax, 1\nret", kFunction));
  // vCPU 1 writes data on the function's page first: its TLB now has a fast write entry.
  ASSERT_EQ(run_other(0x400000, "mov qword [0x300800], 7\nhlt"), StopReason::kHalt);
  const std::string caller = "mov ecx, 8\n.a: call 0x300000\ndec ecx\njnz .a\nhlt";
  ASSERT_EQ(e.run_code(caller), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 1u);
  // "mov eax, 2; ret" = b8 02 00 00 00 c3, stored by vCPU 1 as one qword.
  ASSERT_EQ(run_other(0x401000, "mov rax, 0xc300000002b8\nmov [0x300000], rax\nhlt"),
            StopReason::kHalt);
  e.st().events.halted = false;
  e.st().rip = kCode;
  ASSERT_EQ(e.cpu.run(100000), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 2u);
}

TEST(EmuChain, IncDecFlagsMatchTheHost) {
  using namespace interp;
  const uint64_t values[] = {0,
                             1,
                             0xf,
                             0x10,
                             0x7f,
                             0x80,
                             0xff,
                             0x7fff,
                             0x8000,
                             0xffff,
                             0x7fffffff,
                             0x80000000,
                             0xffffffff,
                             0x7fffffffffffffffull,
                             0x8000000000000000ull,
                             ~0ull,
                             0x123456789abcdef0ull};
  for (uint64_t v : values)
    for (uint64_t fin : {uint64_t{2}, uint64_t{2} | kArithFlags})
      for (unsigned size : {1u, 2u, 4u, 8u}) {
        uint64_t fc = fin, fh = fin;
        const uint64_t rc = inc_dec(v, size, false, fc);
        const uint64_t rh = VESSEL_SIZED(size, h_inc, v, fh);
        EXPECT_EQ(rc, rh) << "inc " << v << " size " << size;
        EXPECT_EQ(fc & kArithFlags, fh & kArithFlags) << "inc " << v << " size " << size;
        fc = fh = fin;
        const uint64_t dc = inc_dec(v, size, true, fc);
        const uint64_t dh = VESSEL_SIZED(size, h_dec, v, fh);
        EXPECT_EQ(dc, dh) << "dec " << v << " size " << size;
        EXPECT_EQ(fc & kArithFlags, fh & kArithFlags) << "dec " << v << " size " << size;
      }
}

// When the probe allowed the fresh forms, they agree with the POPFQ forms on operands the
// probe did not try (pseudo-random), whatever the input flags.
TEST(EmuChain, FreshFlagFormsMatchPopfForms) {
  using namespace interp;
  if (!fresh_flags_ok()) GTEST_SKIP() << "host flags depend on input flags: POPFQ forms in use";
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < 2000; ++i) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t a = x, b = x >> 17 | x << 47;
    const uint8_t n = static_cast<uint8_t>(1 + (x >> 58));  // 1..64, never 0
    const uint64_t fin = (i & 1) ? (2 | kArithFlags) : 2;
    uint64_t ff = 0, fp = fin;
    EXPECT_EQ(f_add<uint32_t>(a, b, ff), h_add<uint32_t>(a, b, fp));
    EXPECT_EQ(ff & kArithFlags, fp & kArithFlags);
    ff = 0, fp = fin;
    EXPECT_EQ(f_imul2<uint64_t>(a, b, ff), h_imul2<uint64_t>(a, b, fp));
    EXPECT_EQ(ff & kArithFlags, fp & kArithFlags);
    ff = 0, fp = fin;
    EXPECT_EQ(f_shr<uint64_t>(a, n, ff), h_shr<uint64_t>(a, n, fp));
    if ((n & 63) != 0) {
      EXPECT_EQ(ff & kArithFlags, fp & kArithFlags);
    }
    ff = 0, fp = fin;
    EXPECT_EQ(f_xor<uint8_t>(a, b, ff), h_xor<uint8_t>(a, b, fp));
    EXPECT_EQ(ff & kArithFlags, fp & kArithFlags);
  }
}

}  // namespace
}  // namespace vessel::engine::emu::test
