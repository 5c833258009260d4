#include "compare.hpp"

#include <fmt/format.h>

#include "x86/decode/decoder.hpp"

namespace vessel::difftest {
namespace {

constexpr const char* kNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};

void diff_page(std::string& out, const char* name, uint64_t base, const std::vector<uint8_t>& a,
               const std::vector<uint8_t>& b) {
  for (size_t i = 0; i + 8 <= a.size() && i + 8 <= b.size(); i += 8) {
    uint64_t x = 0, y = 0;
    for (int k = 7; k >= 0; --k) {
      x = x << 8 | a[i + k];
      y = y << 8 | b[i + k];
    }
    if (x != y)
      out +=
          fmt::format("  {} qword {:#x}: expected {:#018x} got {:#018x}\n", name, base + i, x, y);
  }
}

}  // namespace

std::string differences(const TestCase& tc, const Outcome& e, const Outcome& g) {
  std::string out;
  if (!e.ok || !g.ok) {
    if (e.ok != g.ok || e.error != g.error)
      out += fmt::format("  run: expected [{}] got [{}]\n", e.ok ? "ok" : e.error,
                         g.ok ? "ok" : g.error);
    return out;
  }
  if (e.faulted != g.faulted || (e.faulted && e.vector != g.vector))
    out += fmt::format("  exception: expected {} got {}\n",
                       e.faulted ? fmt::format("#{}", e.vector) : "none",
                       g.faulted ? fmt::format("#{}", g.vector) : "none");
  for (int i = 0; i < 16; ++i)
    if (e.gpr[i] != g.gpr[i])
      out += fmt::format("  {}: expected {:#018x} got {:#018x}\n", kNames[i], e.gpr[i], g.gpr[i]);
  if (e.rip != g.rip) out += fmt::format("  rip: expected {:#x} got {:#x}\n", e.rip, g.rip);
  const uint64_t mask = (kStatusFlags | kDf) & ~tc.undefined_flags;
  if ((e.rflags ^ g.rflags) & mask)
    out += fmt::format("  rflags: expected {:#x} got {:#x} (compared bits {:#x}, differ {:#x})\n",
                       e.rflags, g.rflags, mask, (e.rflags ^ g.rflags) & mask);
  diff_page(out, "scratch", kScratch, e.scratch, g.scratch);
  diff_page(out, "stack", kStack, e.stack, g.stack);
  return out;
}

std::string describe(const TestCase& tc) {
  std::string out = fmt::format("case {:#018x}{}{}:\n", tc.id, tc.name.empty() ? "" : " " + tc.name,
                                tc.may_fault ? " (ends in #DE)" : "");
  size_t off = 0;
  x86::Decoder decoder;
  while (off < tc.code.size()) {
    x86::DecodedInst inst;
    const auto status =
        decoder.decode(x86::CodeMode::k64, tc.code.data() + off, tc.code.size() - off, inst);
    const uint64_t addr = kCode + off;
    std::string bytes;
    const size_t len = status == x86::DecodeStatus::kOk ? inst.length : 1;
    for (size_t i = 0; i < len && off + i < tc.code.size(); ++i)
      bytes += fmt::format("{:02x}", tc.code[off + i]);
    out += fmt::format(
        "  {:#x}: {:<24} {}\n", addr, bytes,
        x86::disassemble(x86::CodeMode::k64, tc.code.data() + off, tc.code.size() - off, addr));
    off += len;
  }
  out += "  initial:";
  for (int i = 0; i < 16; ++i) {
    const uint64_t v = i == 4 ? kInitialRsp : i == kScratchBaseReg ? kScratch : tc.gpr[i];
    out += fmt::format("{}{}={:#x}", i % 4 == 0 ? "\n    " : " ", kNames[i], v);
  }
  out += fmt::format("\n    rflags={:#x} undefined-at-end={:#x}\n", tc.rflags, tc.undefined_flags);
  return out;
}

}  // namespace vessel::difftest
