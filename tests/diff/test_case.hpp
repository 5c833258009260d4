// Differential testing of the software engine: one test case (a short 64-bit instruction
// sequence with its initial registers, flags and memory) and the outcome of running it on an
// engine or an oracle. The guest layout is fixed and shared by every runner so the same bytes
// run at the same addresses everywhere.
//
// Not a test framework: generation is in generator.hpp, the runners in runners.hpp, the
// comparison in compare.hpp.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace vessel::difftest {

// Identity-mapped guest layout (virtual == physical). The sequence runs in ring 3; ring 0
// only holds the exception stubs.
inline constexpr uint64_t kGdt = 0x1000, kIdt = 0x2000, kTss = 0x3000, kStubs = 0x4000,
                          kRing0StackTop = 0x8000, kPml4 = 0x10000, kCode = 0x100000,
                          kCodeSize = 0x2000, kScratch = 0x180000, kStack = 0x190000,
                          kPageSize = 0x1000, kGuestRam = 4ull << 20;
inline constexpr uint64_t kInitialRsp = kStack + 0x800;
// The register that always holds kScratch (memory operands are [r15 + disp]); generated
// code never writes it, nor RSP except through PUSH/POP.
inline constexpr int kScratchBaseReg = 15;

// Ports: the sequence ends with `out kDonePort, al`, which in ring 3 with IOPL 0 and no I/O
// bitmap raises #GP (SDM Vol. 1 §19.5): the ring-0 stub for exception vector v does
// `out kFaultPortBase + v, al`, and #GP at the terminator is the normal end. (IOPL 3 would
// avoid the trip through ring 0, but PVM runs guest ring 3 with IOPL 0 regardless.)
inline constexpr uint8_t kDonePort = 0xf0, kFaultPortBase = 0xc0;
inline constexpr uint64_t kIf = 1ull << 9;
// The flags a ring-3 sequence can change: OF DF SF ZF AF PF CF.
inline constexpr uint64_t kStatusFlags = 0x8d5, kDf = 0x400;

struct TestCase {
  uint64_t id = 0;                 // seed-derived number, to reproduce one case
  std::string name;                // corpus cases only
  std::vector<uint8_t> code;       // the sequence, without the terminator
  std::array<uint64_t, 16> gpr{};  // RSP and R15 are fixed by the layout
  uint64_t rflags = 0x202;
  std::vector<uint8_t> scratch = std::vector<uint8_t>(kPageSize);
  std::vector<uint8_t> stack = std::vector<uint8_t>(kPageSize);
  uint64_t undefined_flags = 0;  // status flags left architecturally undefined at the end
  bool may_fault = false;        // the sequence deliberately ends in an exception (#DE)
};

// The terminator appended after the sequence: `out kDonePort, al; jmp $`.
std::vector<uint8_t> terminated_code(const TestCase& tc);
inline uint64_t done_rip(const TestCase& tc) {
  return kCode + tc.code.size() + 2;
}

struct Outcome {
  bool ok = false;    // the runner could run the case at all
  std::string error;  // why not (or what went wrong: hang, unexpected exit)
  bool faulted = false;
  uint8_t vector = 0;  // when faulted
  std::array<uint64_t, 16> gpr{};
  uint64_t rip = 0, rflags = 0;
  std::vector<uint8_t> scratch, stack;
};

}  // namespace vessel::difftest
