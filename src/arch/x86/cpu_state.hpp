// CpuState: one engine-neutral description of an x86-64 vCPU's architectural state.
// The KVM engine converts it to and from kvm_regs/kvm_sregs/kvm_fpu/MSRs; the software engine
// runs on it directly. Snapshots and differential tests only ever see this type, so state can
// move between engines.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace vessel::arch {

enum Gpr : int {
  kRax,
  kRcx,
  kRdx,
  kRbx,
  kRsp,
  kRbp,
  kRsi,
  kRdi,
  kR8,
  kR9,
  kR10,
  kR11,
  kR12,
  kR13,
  kR14,
  kR15,
};

enum SegIndex : int { kEs, kCs, kSs, kDs, kFs, kGs, kLdtr, kTr, kNumSegments };

// A segment register with its hidden descriptor cache (SDM Vol. 3A §3.4.2-3.4.5).
struct Segment {
  uint16_t selector = 0;
  uint64_t base = 0;
  uint32_t limit = 0xffff;  // byte granular (already scaled when G=1)
  uint8_t type = 0;         // descriptor type field (4 bits)
  bool s = true;            // code/data (1) or system (0)
  uint8_t dpl = 0;
  bool present = true;
  bool avl = false;
  bool l = false;         // 64-bit code segment
  bool db = false;        // default operation size / big
  bool g = false;         // granularity
  bool unusable = false;  // null selector loaded (VMX "unusable")
};

struct DescriptorTable {
  uint64_t base = 0;
  uint16_t limit = 0xffff;
};

// RFLAGS bits (SDM Vol. 1 §3.4.3).
namespace rflags {
inline constexpr uint64_t kCF = 1ull << 0, kReserved1 = 1ull << 1, kPF = 1ull << 2, kAF = 1ull << 4,
                          kZF = 1ull << 6, kSF = 1ull << 7, kTF = 1ull << 8, kIF = 1ull << 9,
                          kDF = 1ull << 10, kOF = 1ull << 11, kIOPL = 3ull << 12, kNT = 1ull << 14,
                          kRF = 1ull << 16, kVM = 1ull << 17, kAC = 1ull << 18, kVIF = 1ull << 19,
                          kVIP = 1ull << 20, kID = 1ull << 21;
}
namespace cr0 {
inline constexpr uint64_t kPE = 1ull << 0, kMP = 1ull << 1, kEM = 1ull << 2, kTS = 1ull << 3,
                          kET = 1ull << 4, kNE = 1ull << 5, kWP = 1ull << 16, kAM = 1ull << 18,
                          kNW = 1ull << 29, kCD = 1ull << 30, kPG = 1ull << 31;
}
namespace cr4 {
inline constexpr uint64_t kVME = 1ull << 0, kPVI = 1ull << 1, kTSD = 1ull << 2, kDE = 1ull << 3,
                          kPSE = 1ull << 4, kPAE = 1ull << 5, kMCE = 1ull << 6, kPGE = 1ull << 7,
                          kPCE = 1ull << 8, kOSFXSR = 1ull << 9, kOSXMMEXCPT = 1ull << 10,
                          kUMIP = 1ull << 11, kFSGSBASE = 1ull << 16, kPCIDE = 1ull << 17,
                          kOSXSAVE = 1ull << 18, kSMEP = 1ull << 20, kSMAP = 1ull << 21;
}
namespace efer {
inline constexpr uint64_t kSCE = 1ull << 0, kLME = 1ull << 8, kLMA = 1ull << 10, kNXE = 1ull << 11;
}
namespace msr {
inline constexpr uint32_t kTsc = 0x10, kApicBase = 0x1b, kSysenterCs = 0x174, kSysenterEsp = 0x175,
                          kSysenterEip = 0x176, kPat = 0x277, kMtrrDefType = 0x2ff,
                          kEfer = 0xc0000080, kStar = 0xc0000081, kLstar = 0xc0000082,
                          kCstar = 0xc0000083, kSfmask = 0xc0000084, kFsBase = 0xc0000100,
                          kGsBase = 0xc0000101, kKernelGsBase = 0xc0000102, kTscAux = 0xc0000103,
                          kTscDeadline = 0x6e0, kMiscEnable = 0x1a0;
}

// The legacy FXSAVE image (SDM Vol. 1 §10.5.1): x87, MXCSR, XMM0-15.
struct FpuState {
  uint16_t fcw = 0x37f;
  uint16_t fsw = 0;
  uint8_t ftw = 0;  // abridged tag word (1 bit per register, 1 = valid)
  uint16_t fop = 0;
  uint64_t fip = 0;
  uint64_t fdp = 0;
  uint32_t mxcsr = 0x1f80;
  std::array<std::array<uint8_t, 16>, 8> st{};  // 80-bit registers in 16-byte slots
  std::array<std::array<uint8_t, 16>, 16> xmm{};
};

// An event waiting to be delivered to the guest (interrupted delivery, injected interrupt).
struct PendingEvents {
  bool interrupt_pending = false;
  uint8_t interrupt_vector = 0;
  bool nmi_pending = false;
  bool interrupt_shadow = false;  // STI / MOV SS blocking for one instruction
  bool halted = false;
};

struct CpuState {
  std::array<uint64_t, 16> gpr{};
  uint64_t rip = 0xfff0;
  uint64_t rflags = rflags::kReserved1;
  std::array<Segment, kNumSegments> seg{};
  DescriptorTable gdt{}, idt{};
  uint64_t cr0 = cr0::kET | cr0::kCD | cr0::kNW, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0;
  uint64_t efer = 0;
  uint64_t apic_base = 0xfee00900;  // enabled, BSP
  uint64_t star = 0, lstar = 0, cstar = 0, sfmask = 0, kernel_gs_base = 0;
  uint64_t sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;
  uint64_t pat = 0x0007040600070406ull;
  uint64_t tsc = 0, tsc_aux = 0;
  uint64_t mtrr_def_type = 0, misc_enable = 1;  // IA32_MTRR_DEF_TYPE, IA32_MISC_ENABLE
  std::array<uint64_t, 4> dr{};
  uint64_t dr6 = 0xffff0ff0, dr7 = 0x400;
  FpuState fpu{};
  PendingEvents events{};

  uint64_t& operator[](Gpr r) { return gpr[r]; }
  uint64_t operator[](Gpr r) const { return gpr[r]; }
};

// The state of an x86 processor after RESET (SDM Vol. 3A §9.1.1, Table 9-1): real mode,
// CS.base 0xffff0000 with IP 0xfff0.
CpuState reset_state();

// Real mode with all segments at 0, entering at 0:ip (e.g. a boot sector at 0x7c00).
CpuState real_mode_state(uint16_t ip, uint16_t sp);

// 32-bit protected mode with flat 4 GiB code and data segments, paging off: the state the
// multiboot v1 specification (§3.2) and the Linux 32-bit boot protocol require.
CpuState flat_protected_mode_state(uint32_t eip);

// A multi-line register dump for error messages (the format of a "guest crashed" report).
std::string format_registers(const CpuState& s);

}  // namespace vessel::arch
