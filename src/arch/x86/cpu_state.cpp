#include "arch/x86/cpu_state.hpp"

#include <fmt/format.h>

namespace vessel::arch {
namespace {

Segment real_segment(uint16_t selector, uint8_t type) {
  Segment s;
  s.selector = selector;
  s.base = uint64_t{selector} << 4;
  s.limit = 0xffff;
  s.type = type;
  return s;
}

Segment system_segment(uint8_t type) {
  Segment s;
  s.s = false;
  s.type = type;
  return s;
}

}  // namespace

CpuState reset_state() {
  CpuState s;
  for (int i = 0; i < kNumSegments; ++i) s.seg[i] = real_segment(0, 0x3);  // data, accessed
  s.seg[kCs] = real_segment(0xf000, 0xb);                                  // code, accessed
  s.seg[kCs].base = 0xffff0000;
  s.seg[kLdtr] = system_segment(0x2);  // LDT
  s.seg[kTr] = system_segment(0xb);    // busy 32-bit TSS (what VMX requires of TR)
  s.rip = 0xfff0;
  s.gpr[kRdx] = 0x600;  // processor signature after reset
  return s;
}

CpuState real_mode_state(uint16_t ip, uint16_t sp) {
  CpuState s = reset_state();
  s.seg[kCs] = real_segment(0, 0xb);
  s.rip = ip;
  s.gpr[kRdx] = 0;
  s.gpr[kRsp] = sp;
  return s;
}

CpuState flat_protected_mode_state(uint32_t eip) {
  CpuState s = reset_state();
  auto flat = [](uint16_t selector, uint8_t type) {
    Segment seg;
    seg.selector = selector;
    seg.base = 0;
    seg.limit = 0xffffffff;
    seg.type = type;
    seg.db = true;
    seg.g = true;
    return seg;
  };
  s.seg[kCs] = flat(0x08, 0xb);
  for (int i : {kDs, kEs, kSs, kFs, kGs}) s.seg[i] = flat(0x10, 0x3);
  s.cr0 = cr0::kPE | cr0::kET;
  s.rip = eip;
  s.gpr[kRdx] = 0;
  return s;
}

std::string format_registers(const CpuState& s) {
  static constexpr const char* kNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp",
                                             "rsi", "rdi", "r8",  "r9",  "r10", "r11",
                                             "r12", "r13", "r14", "r15"};
  static constexpr const char* kSegNames[kNumSegments] = {"es", "cs", "ss",   "ds",
                                                          "fs", "gs", "ldtr", "tr"};
  std::string out;
  for (int i = 0; i < 16; ++i)
    out += fmt::format("{:>4}={:016x}{}", kNames[i], s.gpr[i], i % 4 == 3 ? "\n" : " ");
  out += fmt::format(" rip={:016x} rflags={:08x}\n", s.rip, s.rflags);
  for (int i = 0; i < kNumSegments; ++i) {
    const Segment& g = s.seg[i];
    out += fmt::format(
        "{:>4}={:04x} base={:016x} limit={:08x} type={:x} s={} dpl={} p={} l={} "
        "db={} g={}\n",
        kSegNames[i], g.selector, g.base, g.limit, g.type, int(g.s), g.dpl, int(g.present),
        int(g.l), int(g.db), int(g.g));
  }
  out += fmt::format(" gdt={:016x}/{:04x} idt={:016x}/{:04x}\n", s.gdt.base, s.gdt.limit,
                     s.idt.base, s.idt.limit);
  out += fmt::format(" cr0={:08x} cr2={:016x} cr3={:016x} cr4={:08x} efer={:x}", s.cr0, s.cr2,
                     s.cr3, s.cr4, s.efer);
  return out;
}

}  // namespace vessel::arch
