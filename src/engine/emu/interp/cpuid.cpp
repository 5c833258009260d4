// The one CPU model the software engine presents (SDM Vol. 2A CPUID). It advertises exactly
// what is implemented: a GenuineIntel family-6 processor with TSC, MSR, PAE, PSE/PSE-36, CX8,
// CX16, APIC, SEP, PGE, CMOV, PAT, CLFSH, POPCNT, LZCNT, SYSCALL, NX, 1 GiB pages, RDTSCP and long
// mode, and FPU/MMX/FXSR/SSE/SSE2 (kHasSse: interp/x87*.cpp, mmx.cpp, sse_*.cpp, fxsave.cpp).
// Not SSE3+, AVX or XSAVE. Its TSC is invariant and has IA32_TSC_ADJUST, and its frequencies
// are in leaves 15H/16H: Linux then neither calibrates against the PIT nor runs the clocksource
// watchdog on the TSC (which a slow or descheduled software CPU can fail: TSC marked unstable).
#include <Zydis/Mnemonic.h>

#include <cstring>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {

// The x87/SSE/FXSAVE handler files are in; false would hide FPU/FXSR/SSE/SSE2 again.
inline constexpr bool kHasSse = true;

namespace {

using namespace arch;

void brand(unsigned part, uint32_t out[4]) {
  static const char kBrand[49] = "vessel software x86-64 CPU";
  char buf[48] = {};
  std::memcpy(buf, kBrand, sizeof(buf));
  std::memcpy(out, buf + 16 * part, 16);
}

}  // namespace

void cpuid(const Cpu& c, uint32_t leaf, uint32_t subleaf, uint32_t r[4]) {
  r[0] = r[1] = r[2] = r[3] = 0;
  switch (leaf) {
    case 0:
      r[0] = 0x16;
      std::memcpy(&r[1], "Genu", 4);
      std::memcpy(&r[3], "ineI", 4);
      std::memcpy(&r[2], "ntel", 4);
      break;
    case 1: {
      r[0] = 0x000306a9;                                  // family 6, model 0x3a, stepping 9
      r[1] = (8u << 8) | (1u << 16) | (c.index() << 24);  // CLFLUSH 64 bytes, APIC id
      r[2] = (1u << 13) | (1u << 23);                     // CX16, POPCNT
      uint32_t d = (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 9) |
                   (1u << 11) | (1u << 13) | (1u << 15) | (1u << 16) | (1u << 17) | (1u << 19);
      if (kHasSse)
        d |= 1u | (1u << 23) | (1u << 24) | (1u << 25) | (1u << 26);  // FPU MMX FXSR SSE SSE2
      r[3] = d;
      break;
    }
    case 6:
      // ARAT: the local APIC timer runs whatever the power state (it is a host timer). With
      // it and the frequencies of leaf 15H Linux needs no PIT (apic_needs_pit): no PIT
      // clockevent, and no check_timer() test of IRQ 0, whose 160 ms TSC-timed wait for 5
      // ticks a loaded host can fail ("MP-BIOS bug: 8254 timer not connected to IO-APIC").
      r[0] = 1u << 2;
      break;
    case 7:
      if (subleaf == 0) {
        r[1] = 1u << 1;   // IA32_TSC_ADJUST (see system_regs.cpp)
        r[3] = 1u << 29;  // IA32_ARCH_CAPABILITIES (see system_regs.cpp)
      }
      break;
    case 0x15:
      // TSC and core crystal frequency (SDM Vol. 2A CPUID leaf 15H): TSC = crystal * EBX/EAX.
      // Both our TSC and our local APIC timer count at 1 GHz, so Linux takes both frequencies
      // from here instead of calibrating them against the PIT, which a slow or descheduled
      // software CPU can make fail.
      r[0] = 1;
      r[1] = 1;
      r[2] = static_cast<uint32_t>(Cpu::kTscHz);
      break;
    case 0x16:  // base, maximum and bus frequency in MHz: the CPU's own clock is the TSC's
      r[0] = r[1] = static_cast<uint32_t>(Cpu::kTscHz / 1'000'000);
      r[2] = 100;
      break;
    case 0x80000000:
      r[0] = 0x80000008;
      break;
    case 0x80000001:
      r[2] = 1u | (1u << 5);  // LAHF/SAHF in 64-bit mode, LZCNT
      r[3] = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29);
      break;
    case 0x80000007:
      r[3] = 1u << 8;  // invariant TSC: host monotonic time, whatever the guest's power state
      break;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004:
      brand(leaf - 0x80000002, r);
      break;
    case 0x80000008:
      r[0] = 0x3028;
      break;  // 40 physical, 48 linear address bits
    default:
      break;
  }
}

}  // namespace vessel::engine::emu::interp
