// Soft MMU tests: page walks in 4-level and 32-bit paging, #PF error codes and CR2, A/D bits,
// WP, NX, reserved bits, INVLPG, page-crossing accesses, MMIO and fetches from MMIO.
#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kPt = kPml4 + 0x3000;  // a 4 KiB page table for 0x600000-0x7fffff
constexpr uint64_t kArea = 0x600000;

// Long mode with 0x600000.. mapped by 4 KiB pages: page i → frame 0x600000 + i*4K, flags 7.
struct PagingEnv : Env {
  PagingEnv() {
    long_mode(kCode);
    poke<uint64_t>(kPml4 + 0x2000 + 8 * 3, kPt | 7);
    for (uint64_t i = 0; i < 512; ++i) poke<uint64_t>(kPt + 8 * i, (kArea + (i << 12)) | 7);
    set_gate(vec::kPF, kHandlers);
    // The #PF handler stores the error code in r15 and CR2 in r14, then halts.
    load(kHandlers, assemble(64, "pop r15\nmov r14, cr2\nhlt"));
    cpu.state_changed();
  }
  void set_pte(unsigned i, uint64_t flags) {
    poke<uint64_t>(kPt + 8 * i, (kArea + (i << 12)) | flags);
  }
  void to_user() {  // CPL 3 with the same flat segments
    st().seg[kCs].selector = 0x2b;
    st().seg[kCs].dpl = 3;
    st().seg[kSs].selector = 0x23;
    st().seg[kSs].dpl = 3;
    poke<uint64_t>(kTss + 4, kStack - 0x1000);  // RSP0 for the fault
  }
};

TEST(EmuMmu, NotPresentReadAndWriteErrorCodes) {
  PagingEnv e;
  e.set_pte(1, 0);
  ASSERT_EQ(e.run_code("mov rax, [0x601008]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], 0u);
  EXPECT_EQ(e.st().gpr[kR14], 0x601008u);
  EXPECT_EQ(e.st().cr2, 0x601008u);

  PagingEnv w;
  w.set_pte(2, 0);
  ASSERT_EQ(w.run_code("mov qword [0x602010], 1\nhlt"), StopReason::kHalt);
  EXPECT_EQ(w.st().gpr[kR15], 2u);  // W/R
}

TEST(EmuMmu, UserAccessToSupervisorPageAndReadOnlyPage) {
  PagingEnv e;
  e.set_pte(3, 3);  // supervisor, writable
  e.to_user();
  ASSERT_EQ(e.run_code("mov rax, [0x603000]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], 5u);            // P | U/S
  EXPECT_EQ(e.st().seg[kCs].selector, 0x08);  // the handler runs at CPL 0

  PagingEnv w;
  w.set_pte(4, 5);  // user, read-only
  w.to_user();
  ASSERT_EQ(w.run_code("mov byte [0x604000], 1\nhlt"), StopReason::kHalt);
  EXPECT_EQ(w.st().gpr[kR15], 7u);  // P | W | U
}

TEST(EmuMmu, SupervisorWriteToReadOnlyDependsOnWp) {
  PagingEnv e;
  e.set_pte(5, 1);  // supervisor, read-only
  ASSERT_EQ(e.run_code("mov byte [0x605000], 1\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], 3u);  // P | W

  PagingEnv n;
  n.set_pte(5, 1);
  n.st().cr0 &= ~cr0::kWP;
  n.cpu.state_changed();
  n.st().gpr[kR15] = 0x77;
  ASSERT_EQ(n.run_code("mov byte [0x605000], 9\nhlt"), StopReason::kHalt);
  EXPECT_EQ(n.st().gpr[kR15], 0x77u);
  EXPECT_EQ(n.peek<uint8_t>(0x605000), 9u);
}

TEST(EmuMmu, NoExecutePageFaultsOnFetch) {
  PagingEnv e;
  e.set_pte(6, 7 | (1ull << 63));
  e.load(0x606000, {0xf4});
  ASSERT_EQ(e.run_code("mov rax, 0x606000\njmp rax"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], 0x11u);  // P | I/D
  EXPECT_EQ(e.st().gpr[kR14], 0x606000u);
}

TEST(EmuMmu, ReservedBitFault) {
  PagingEnv e;
  e.set_pte(7, 7 | (1ull << 45));  // above MAXPHYADDR (40)
  ASSERT_EQ(e.run_code("mov rax, [0x607000]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], 9u);  // P | RSVD
}

TEST(EmuMmu, AccessedAndDirtyBitsAreWritten) {
  PagingEnv e;
  ASSERT_EQ(e.run_code("mov rax, [0x608000]\nmov byte [0x609000], 1\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.peek<uint64_t>(kPt + 8 * 8) & 0x60, 0x20u);  // A, not D
  EXPECT_EQ(e.peek<uint64_t>(kPt + 8 * 9) & 0x60, 0x60u);  // A and D
}

TEST(EmuMmu, InvlpgMakesNewMappingVisible) {
  PagingEnv e;
  e.poke<uint64_t>(0x60a000, 0xaaaa);
  e.poke<uint64_t>(0x60b000, 0xbbbb);
  // Read page 10, remap it to frame 11, INVLPG, read again.
  ASSERT_EQ(e.run_code("mov rax, [0x60a000]\n"
                       "mov qword [" +
                       std::to_string(kPt + 8 * 10) +
                       "], 0x60b007\n"
                       "invlpg [0x60a000]\nmov rbx, [0x60a000]\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 0xaaaau);
  EXPECT_EQ(e.st().gpr[kRbx], 0xbbbbu);
}

// A CR3 write keeps global translations (CR4.PGE) and drops the others, also when the global
// one was refilled after an INVLPG (listed twice in the CPU's list of filled entries) and over
// several CR3 writes; clearing CR4.PGE drops them all.
TEST(EmuMmu, Cr3WriteKeepsOnlyGlobalTranslations) {
  PagingEnv e;
  e.set_pte(12, 0x107);  // global
  e.poke<uint64_t>(0x60c000, 0xc);
  e.poke<uint64_t>(0x60d000, 0xd);
  e.poke<uint64_t>(0x60e000, 0xe);
  const std::string pte12 = std::to_string(kPt + 8 * 12), pte13 = std::to_string(kPt + 8 * 13);
  ASSERT_EQ(e.run_code("mov rax, cr4\nor rax, 0x80\nmov cr4, rax\n"
                       "mov rax, [0x60c000]\ninvlpg [0x60c000]\nmov rax, [0x60c000]\n"
                       "mov rax, [0x60d000]\n"
                       // Both pages now point at frame 14.
                       "mov qword [" +
                       pte12 + "], 0x60e107\nmov qword [" + pte13 +
                       "], 0x60e007\n"
                       "mov rax, cr3\nmov cr3, rax\nmov cr3, rax\n"
                       "mov r8, [0x60c000]\nmov r9, [0x60d000]\n"
                       "mov rax, cr4\nand rax, ~0x80\nmov cr4, rax\n"
                       "mov r10, [0x60c000]\nhlt"),
            StopReason::kHalt)
      << e.cpu.error();
  EXPECT_EQ(e.st().gpr[kR8], 0xcu);   // global: the old translation survived both CR3 writes
  EXPECT_EQ(e.st().gpr[kR9], 0xeu);   // not global: walked again
  EXPECT_EQ(e.st().gpr[kR10], 0xeu);  // CR4.PGE cleared: walked again
}

// The TLB lists global and non-global entries apart (a CR3 write walks only the latter): an
// entry refilled with the other kind after INVLPG must follow its new kind.
TEST(EmuMmu, Cr3WriteFollowsGlobalBitOfRefilledEntries) {
  PagingEnv e;
  e.set_pte(12, 0x107);  // global at first
  e.poke<uint64_t>(0x60c000, 0xc);
  e.poke<uint64_t>(0x60d000, 0xd);
  e.poke<uint64_t>(0x60e000, 0xe);
  const std::string pte12 = std::to_string(kPt + 8 * 12), pte13 = std::to_string(kPt + 8 * 13);
  ASSERT_EQ(e.run_code("mov rax, cr4\nor rax, 0x80\nmov cr4, rax\n"
                       "mov rax, [0x60c000]\nmov rax, [0x60d000]\n"
                       // Page 12 becomes non-global and page 13 global, each refilled.
                       "mov qword [" +
                       pte12 + "], 0x60c007\ninvlpg [0x60c000]\nmov rax, [0x60c000]\n" +
                       "mov qword [" + pte13 +
                       "], 0x60d107\ninvlpg [0x60d000]\nmov rax, [0x60d000]\n"
                       // Both now point at frame 14.
                       "mov qword [" +
                       pte12 + "], 0x60e007\nmov qword [" + pte13 +
                       "], 0x60e107\n"
                       "mov rax, cr3\nmov cr3, rax\nmov cr3, rax\n"
                       "mov r8, [0x60c000]\nmov r9, [0x60d000]\nhlt"),
            StopReason::kHalt)
      << e.cpu.error();
  EXPECT_EQ(e.st().gpr[kR8], 0xeu);  // non-global now: walked again after the CR3 write
  EXPECT_EQ(e.st().gpr[kR9], 0xdu);  // global now: the cached translation survived
}

TEST(EmuMmu, AccessCrossingPagesUsesBothTranslations) {
  PagingEnv e;
  // Linear pages 12 and 13 map to frames 20 and 14: a split read must stitch them.
  e.poke<uint64_t>(kPt + 8 * 13, (kArea + (20ull << 12)) | 7);
  e.poke<uint32_t>(0x60c000 + 0xffc, 0x44332211);
  e.poke<uint32_t>(0x614000, 0x88776655);
  ASSERT_EQ(e.run_code("mov rax, [0x60cffc]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 0x8877665544332211ull);
  // A split access whose second half is not present faults with CR2 = the second page.
  PagingEnv f;
  f.set_pte(13, 0);
  ASSERT_EQ(f.run_code("mov rax, [0x60cffc]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(f.st().gpr[kR14], 0x60d000u);
}

TEST(EmuMmu, MmioThroughOneGigabytePage) {
  PagingEnv e;
  e.poke<uint64_t>(kPml4 + 0x1000 + 8 * 3, 0xc0000000ull | 0x87);  // 1 GiB page at 3 GiB
  e.io.mmio_values[0xfee00030] = 0x50014;
  ASSERT_EQ(e.run_code("mov rbx, 0xfee00030\nmov eax, [rbx]\nmov dword [rbx+0x80], 0\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kRax], 0x50014u);
  ASSERT_EQ(e.io.mmio_writes.size(), 1u);
  EXPECT_EQ(e.io.mmio_writes[0].first, 0xfee000b0u);
}

TEST(EmuMmu, FetchFromMmioIsACleanError) {
  PagingEnv e;
  e.poke<uint64_t>(kPml4 + 0x1000 + 8 * 3, 0xc0000000ull | 0x87);
  ASSERT_EQ(e.run_code("mov rax, 0xd0000000\njmp rax"), StopReason::kError);
  EXPECT_NE(e.cpu.error().find("instruction fetch from MMIO"), std::string::npos);
}

TEST(EmuMmu, ThirtyTwoBitPagingWith4MAnd4KPages) {
  Env e;
  e.setup_gdt();
  auto& s = e.st();
  s = flat_protected_mode_state(0x100000);
  const uint64_t pd = 0x20000, pt = 0x21000;
  e.poke<uint32_t>(pd + 0, 0x00000087);          // 0-4M: 4M page
  e.poke<uint32_t>(pd + 4 * 2, pt | 7);          // 8M-12M: page table
  e.poke<uint32_t>(pt + 4 * 1, 0x00300000 | 7);  // 0x801000 → 0x300000
  s.cr3 = pd;
  s.cr4 = cr4::kPSE;
  s.cr0 |= cr0::kPG;
  e.poke<uint32_t>(0x300010, 0xcafe);
  e.cpu.state_changed();
  e.load(0x100000, assemble(32, "mov eax, [0x801010]\nmov byte [0x802000], 1\nhlt", 0x100000));
  // No IDT: the #PF on 0x802000 escalates to a triple fault; check the read first.
  s.idt = {0, 0};
  ASSERT_EQ(e.cpu.run(100), StopReason::kShutdown);
  EXPECT_EQ(s.gpr[kRax], 0xcafeu);
  EXPECT_EQ(s.cr2, 0x802000u);
}

}  // namespace
}  // namespace vessel::engine::emu::test
