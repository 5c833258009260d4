// Control registers, EFER, MSRs and the TSC of the software CPU (SDM Vol. 3A §2.5, §2.2.1,
// ch. 4 for what paging-related writes flush; Vol. 4 for the MSRs).
#include <time.h>

#include "engine/emu/cpu.hpp"

namespace vessel::engine::emu {

using namespace arch;

void Cpu::update_lma() {
  const bool lma = (st.efer & efer::kLME) && (st.cr0 & cr0::kPG);
  st.efer = lma ? st.efer | efer::kLMA : st.efer & ~efer::kLMA;
}

void Cpu::write_cr0(uint64_t v) {
  if (v >> 32) raise(vec::kGP, 0);
  v |= cr0::kET;
  if ((v & cr0::kPG) && !(v & cr0::kPE)) raise(vec::kGP, 0);
  if ((v & cr0::kNW) && !(v & cr0::kCD)) raise(vec::kGP, 0);
  const bool enabling_pg = (v & cr0::kPG) && !(st.cr0 & cr0::kPG);
  if (enabling_pg && (st.efer & efer::kLME)) {
    // Entering IA-32e mode needs PAE and must not happen from a 64-bit CS (§9.8.5).
    if (!(st.cr4 & cr4::kPAE) || st.seg[kCs].l) raise(vec::kGP, 0);
  }
  if (!(v & cr0::kPG) && (st.cr0 & cr0::kPG) && mode64()) raise(vec::kGP, 0);
  const uint64_t changed = st.cr0 ^ v;
  st.cr0 = v;
  update_lma();
  if (changed & (cr0::kPG | cr0::kWP | cr0::kPE)) flush_tlb(false);
  end_block = true;
}

void Cpu::write_cr3(uint64_t v) {
  if (long_mode() && (v & 0xfff0000000000000ull)) raise(vec::kGP, 0);
  st.cr3 = long_mode() ? v : v & 0xffffffffull;
  flush_tlb(true);  // global pages survive a CR3 write (§4.10.4.1)
  end_block = true;
}

void Cpu::write_cr4(uint64_t v) {
  constexpr uint64_t kAllowed = cr4::kTSD | cr4::kDE | cr4::kPSE | cr4::kPAE | cr4::kMCE |
                                cr4::kPGE | cr4::kPCE | cr4::kOSFXSR | cr4::kOSXMMEXCPT;
  if (v & ~kAllowed) raise(vec::kGP, 0);
  if (long_mode() && !(v & cr4::kPAE)) raise(vec::kGP, 0);
  const uint64_t changed = st.cr4 ^ v;
  st.cr4 = v;
  if (changed & (cr4::kPGE | cr4::kPAE | cr4::kPSE)) flush_tlb(false);
  end_block = true;
}

void Cpu::write_efer(uint64_t v) {
  constexpr uint64_t kAllowed = efer::kSCE | efer::kLME | efer::kLMA | efer::kNXE;
  if (v & ~kAllowed) raise(vec::kGP, 0);
  // LME cannot change while paging is on (§9.8.5); LMA is read-only.
  if ((st.cr0 & cr0::kPG) && ((v ^ st.efer) & efer::kLME)) raise(vec::kGP, 0);
  const uint64_t changed = st.efer ^ v;
  st.efer = (v & ~efer::kLMA) | (st.efer & efer::kLMA);
  if (changed & efer::kNXE) flush_tlb(false);
  end_block = true;
}

namespace {
constexpr uint32_t kPlatformId = 0x17;
constexpr uint32_t kBiosSignId = 0x8b;
constexpr uint32_t kArchCapabilities = 0x10a;
constexpr uint32_t kTscAdjust = 0x3b;
// IA32_ARCH_CAPABILITIES (SDM Vol. 4 Table 2-2): an interpreter keeps no speculative state a
// guest could leak, so it claims immunity to the side channels whose mitigations would cost
// an emulator dearly (PTI's CR3 switch flushes the TLB on every kernel entry; MDS's VERW on
// every exit): RDCL_NO, SSB_NO, MDS_NO, PSCHANGE_MC_NO, TAA_NO, SBDR_SSDP_NO, FBSDP_NO, PSDP_NO,
// GDS_NO, RFDS_NO. CPUID.(EAX=7,ECX=0):EDX[29] advertises the MSR.
constexpr uint64_t kArchCapabilitiesValue = (1ull << 0) | (1ull << 4) | (1ull << 5) | (1ull << 6) |
                                            (1ull << 8) | (1ull << 13) | (1ull << 14) |
                                            (1ull << 15) | (1ull << 26) | (1ull << 27);
}  // namespace

bool Cpu::rdmsr(uint32_t index, uint64_t& v) {
  switch (index) {
    case msr::kEfer:
      v = st.efer;
      return true;
    case msr::kStar:
      v = st.star;
      return true;
    case msr::kLstar:
      v = st.lstar;
      return true;
    case msr::kCstar:
      v = st.cstar;
      return true;
    case msr::kSfmask:
      v = st.sfmask;
      return true;
    case msr::kFsBase:
      v = st.seg[kFs].base;
      return true;
    case msr::kGsBase:
      v = st.seg[kGs].base;
      return true;
    case msr::kKernelGsBase:
      v = st.kernel_gs_base;
      return true;
    case msr::kApicBase:
      v = st.apic_base;
      return true;
    case msr::kTsc:
      v = read_tsc();
      return true;
    case kTscAdjust:
      v = static_cast<uint64_t>(tsc_adjust_);
      return true;
    case msr::kTscAux:
      v = st.tsc_aux;
      return true;
    case msr::kPat:
      v = st.pat;
      return true;
    case msr::kSysenterCs:
      v = st.sysenter_cs;
      return true;
    case msr::kSysenterEsp:
      v = st.sysenter_esp;
      return true;
    case msr::kSysenterEip:
      v = st.sysenter_eip;
      return true;
    case msr::kMtrrDefType:
      v = st.mtrr_def_type;
      return true;
    case 0xfe:
      v = 0;
      return true;  // IA32_MTRRCAP: no variable/fixed ranges
    case msr::kMiscEnable:
      v = st.misc_enable;
      return true;
    case kBiosSignId:
      v = 0;  // no microcode update loaded
      return true;
    case kPlatformId:
      v = 0;  // platform ID 0: what microcode loaders match against
      return true;
    case kArchCapabilities:
      v = kArchCapabilitiesValue;
      return true;
    default:
      return false;
  }
}

bool Cpu::wrmsr(uint32_t index, uint64_t v) {
  auto canonical = [](uint64_t a) { return (a >> 47) == 0 || (a >> 47) == 0x1ffff; };
  switch (index) {
    case msr::kEfer:
      write_efer(v);
      return true;
    case msr::kStar:
      st.star = v;
      return true;
    case msr::kLstar:
      if (!canonical(v)) return false;
      st.lstar = v;
      return true;
    case msr::kCstar:
      if (!canonical(v)) return false;
      st.cstar = v;
      return true;
    case msr::kSfmask:
      st.sfmask = v & 0xffffffffull;
      return true;
    case msr::kFsBase:
      if (!canonical(v)) return false;
      st.seg[kFs].base = v;
      return true;
    case msr::kGsBase:
      if (!canonical(v)) return false;
      st.seg[kGs].base = v;
      return true;
    case msr::kKernelGsBase:
      if (!canonical(v)) return false;
      st.kernel_gs_base = v;
      return true;
    case msr::kApicBase:
      st.apic_base = v & 0xfffffffffd00ull;
      return true;
    case msr::kTsc:  // moves IA32_TSC_ADJUST by as much (SDM Vol. 3B §17.17.3)
      tsc_adjust_ += write_tsc(v);
      return true;
    case kTscAdjust:  // SDM Vol. 3B §17.17.3: the TSC moves by what the adjustment moves
      tsc_delta_->fetch_add(static_cast<int64_t>(v) - tsc_adjust_, std::memory_order_relaxed);
      tsc_adjust_ = static_cast<int64_t>(v);
      return true;
    case msr::kTscAux:
      st.tsc_aux = v & 0xffffffffull;
      return true;
    case msr::kPat: {
      for (int i = 0; i < 8; ++i) {  // valid memory types: 0, 1, 4, 5, 6, 7
        const unsigned t = (v >> (8 * i)) & 0xff;
        if (t > 7 || t == 2 || t == 3) return false;
      }
      st.pat = v;
      return true;
    }
    case msr::kSysenterCs:
      st.sysenter_cs = v;
      return true;
    case msr::kSysenterEsp:  // canonical on a CPU with long mode (SDM Vol. 4 Table 2-2)
      if (!canonical(v)) return false;
      st.sysenter_esp = v;
      return true;
    case msr::kSysenterEip:
      if (!canonical(v)) return false;
      st.sysenter_eip = v;
      return true;
    case msr::kMtrrDefType:
      if (v & ~0xcffull) return false;
      st.mtrr_def_type = v;
      return true;
    case msr::kMiscEnable:
      st.misc_enable = v;
      return true;
    case kBiosSignId:
      return true;  // writing 0 before CPUID(1) is how the microcode revision is read
    default:
      return false;
  }
}

}  // namespace vessel::engine::emu
