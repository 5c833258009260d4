// Locked read-modify-write on guest RAM is atomic between vCPUs: two software CPUs on two host
// threads share one GuestMemory and update the same counters with LOCK ADD, LOCK XADD,
// CMPXCHG8B and CMPXCHG16B retry loops; no update may be lost. Also CMPXCHG16B's alignment
// #GP and its compare-failure results.
#include <thread>

#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kData = 0x7000;
constexpr int kIterations = 20000;

// Each case gets a fresh CPU and memory (the Env).
class EmuAtomic : public ::testing::Test {
 protected:
  // Runs `body` kIterations times (counting down `counter`, a register the body leaves alone)
  // on the Env's CPU and on a second CPU over the same memory, at the same time, each on its
  // own thread; both must end in HLT.
  void run_loop_on_two_cpus(const std::string& counter, const std::string& body) {
    e.long_mode(kCode);
    const std::string src = "mov " + counter + ", " + std::to_string(kIterations) +
                            "\n.l: " + body + "\ndec " + counter + "\njnz .l\nhlt";
    e.load(kCode, assemble(64, src, kCode));
    Cpu second(e.mem, e.io, 1);
    second.state() = e.st();
    second.state().gpr[kRsp] = kStack - 0x1000;
    second.state_changed();
    StopReason r1{}, r2{};
    std::thread t([&] { r2 = second.run(100'000'000); });
    r1 = e.cpu.run(100'000'000);
    t.join();
    ASSERT_EQ(r1, StopReason::kHalt) << e.cpu.error();
    ASSERT_EQ(r2, StopReason::kHalt) << second.error();
  }

  Env e;
};

TEST_F(EmuAtomic, LockAddAndXaddLoseNoUpdate) {
  run_loop_on_two_cpus("ecx",
                       "lock add qword [0x7000], 1\nmov eax, 2\nlock xadd dword [0x7008], eax");
  EXPECT_EQ(e.peek<uint64_t>(kData), 2u * kIterations);
  EXPECT_EQ(e.peek<uint32_t>(kData + 8), 4u * kIterations);
}

TEST_F(EmuAtomic, Cmpxchg8bLoopLosesNoUpdate) {
  run_loop_on_two_cpus("esi",
                       "mov eax, [0x7000]\nmov edx, [0x7004]\n"
                       ".retry: lea ebx, [eax + 1]\nlea ecx, [edx + 3]\n"
                       "lock cmpxchg8b [0x7000]\njnz .retry");
  EXPECT_EQ(e.peek<uint32_t>(kData), 2u * kIterations);
  EXPECT_EQ(e.peek<uint32_t>(kData + 4), 6u * kIterations);
}

TEST_F(EmuAtomic, Cmpxchg16bLoopLosesNoUpdate) {
  run_loop_on_two_cpus("esi",
                       "mov rax, [0x7000]\nmov rdx, [0x7008]\n"
                       ".retry: lea rbx, [rax + 1]\nlea rcx, [rdx + 5]\n"
                       "lock cmpxchg16b [0x7000]\njnz .retry");
  EXPECT_EQ(e.peek<uint64_t>(kData), 2u * kIterations);
  EXPECT_EQ(e.peek<uint64_t>(kData + 8), 10u * kIterations);
}

TEST_F(EmuAtomic, Cmpxchg16bMismatchLoadsMemoryAndMisalignmentFaults) {
  e.long_mode(kCode);
  e.poke<uint64_t>(kData, 0x1111);
  e.poke<uint64_t>(kData + 8, 0x2222);
  e.set_gate(vec::kGP, kHandlers);
  e.load(kHandlers, assemble(64, "mov r15, 13\nhlt"));
  ASSERT_EQ(e.run_code("xor eax, eax\nxor edx, edx\nmov ebx, 7\nmov ecx, 8\n"
                       "cmpxchg16b [0x7000]\nsetz r8b\nmov r9, rax\nmov r10, rdx\n"
                       "cmpxchg16b [0x7000]\nsetz r11b\ncmpxchg16b [0x7008]\nmov r14, 1\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR8] & 0xff, 0u);  // no match: RDX:RAX = memory
  EXPECT_EQ(e.st().gpr[kR9], 0x1111u);
  EXPECT_EQ(e.st().gpr[kR10], 0x2222u);
  EXPECT_EQ(e.st().gpr[kR11] & 0xff, 1u);  // then a match: RCX:RBX stored
  EXPECT_EQ(e.peek<uint64_t>(kData), 7u);
  EXPECT_EQ(e.peek<uint64_t>(kData + 8), 8u);
  EXPECT_EQ(e.st().gpr[kR15], 13u);  // misaligned: #GP(0) before anything changes
  EXPECT_EQ(e.st().gpr[kR14], 0u);
  EXPECT_EQ(e.peek<uint64_t>(kData + 16), 0u);
}

}  // namespace
}  // namespace vessel::engine::emu::test
