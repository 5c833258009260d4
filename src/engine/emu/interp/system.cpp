// System instructions (SDM Vol. 3A ch. 2.8 and Vol. 2 pages): MOV CR/DR/Sreg, descriptor
// table registers, LLDT/LTR, INVLPG, CLTS, HLT, CLI/STI, CPUID, RDTSC(P), RDMSR/WRMSR,
// SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS, far pointer loads (LDS...), cache control as no-ops.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {

void cpuid(const Cpu& c, uint32_t leaf, uint32_t subleaf, uint32_t r[4]);

namespace {

using namespace arch;

void require_cpl0(const Cpu& c) {
  if (c.cpl() != 0) raise(vec::kGP, 0);
}

void mov_cr(Cpu& c, const DecodedInst& in) {
  require_cpl0(c);
  const bool to_cr = in.ops[0].kind == OpKind::kCr;
  const unsigned n = to_cr ? in.ops[0].reg : in.ops[1].reg;
  if (to_cr) {
    const uint64_t v = get_gpr(c, in.ops[1].reg, c.mode64() ? 8 : 4);
    switch (n) {
      case 0:
        c.write_cr0(v);
        break;
      case 2:
        c.st.cr2 = v;
        break;
      case 3:
        c.write_cr3(v);
        break;
      case 4:
        c.write_cr4(v);
        break;
      case 8:
        if (v & ~0xfull) raise(vec::kGP, 0);
        c.st.cr8 = v;
        break;
      default:
        raise(vec::kUD);
    }
    return;
  }
  uint64_t v;
  switch (n) {
    case 0:
      v = c.st.cr0;
      break;
    case 2:
      v = c.st.cr2;
      break;
    case 3:
      v = c.st.cr3;
      break;
    case 4:
      v = c.st.cr4;
      break;
    case 8:
      v = c.st.cr8;
      break;
    default:
      raise(vec::kUD);
  }
  set_gpr(c, in.ops[0].reg, c.mode64() ? 8 : 4, v);
}

void mov_dr(Cpu& c, const DecodedInst& in) {
  require_cpl0(c);
  const bool to_dr = in.ops[0].kind == OpKind::kDr;
  unsigned n = to_dr ? in.ops[0].reg : in.ops[1].reg;
  if (n == 4 || n == 5) {
    if (c.st.cr4 & cr4::kDE) raise(vec::kUD);
    n += 2;
  }
  c.check_general_detect();
  const unsigned size = c.mode64() ? 8 : 4;
  if (to_dr) {
    const uint64_t v = get_gpr(c, in.ops[1].reg, size);
    if (n < 4)
      c.st.dr[n] = v;
    else if (n == 6)
      c.st.dr6 = (v & 0xe00f) | 0xffff0ff0;
    else if (n == 7)
      c.st.dr7 = (v & 0xffff2bff) | 0x400;
    if (n != 6) c.debug_regs_changed();
    return;
  }
  const uint64_t v = n < 4 ? c.st.dr[n] : n == 6 ? c.st.dr6 : c.st.dr7;
  set_gpr(c, in.ops[0].reg, size, v);
}

void MOV(Cpu& c, const DecodedInst& in) {
  const OpKind d = in.ops[0].kind, s = in.ops[1].kind;
  if (d == OpKind::kCr || s == OpKind::kCr) return mov_cr(c, in);
  if (d == OpKind::kDr || s == OpKind::kDr) return mov_dr(c, in);
  if (d == OpKind::kSeg) {
    if (in.ops[0].reg == kCs) raise(vec::kUD);
    c.load_segment(in.ops[0].reg, static_cast<uint16_t>(read_op_sized(c, in, 1, 2)));
    if (in.ops[0].reg == kSs) c.st.events.interrupt_shadow = true;
    return;
  }
  if (s == OpKind::kSeg) {  // to a register: zero-extended; to memory: 16 bits
    const uint64_t sel = c.st.seg[in.ops[1].reg].selector;
    if (d == OpKind::kGpr)
      set_gpr(c, in.ops[0].reg, in.ops[0].size, sel);
    else
      c.write(in.ops[0].seg, effective_address(c, in, in.ops[0]), 2, sel);
    return;
  }
  write_op(c, in, 0, read_op_sized(c, in, 1, in.ops[0].size));
}

// LGDT/LIDT/SGDT/SIDT operand: limit16 then base (24 bits with a 16-bit operand size outside
// 64-bit mode, 32 bits in legacy modes, 64 bits in 64-bit mode).
void load_dt(Cpu& c, const DecodedInst& in, DescriptorTable& dt) {
  require_cpl0(c);
  const Operand& op = in.ops[0];
  const uint64_t ea = effective_address(c, in, op);
  const uint16_t limit = static_cast<uint16_t>(c.read(op.seg, ea, 2));
  uint64_t base = c.read(op.seg, (ea + 2) & size_mask(in.addrsize), c.mode64() ? 8 : 4);
  if (!c.mode64() && in.opsize == 2) base &= 0xffffff;
  dt = DescriptorTable{base, limit};
}
void store_dt(Cpu& c, const DecodedInst& in, const DescriptorTable& dt) {
  const Operand& op = in.ops[0];
  const uint64_t ea = effective_address(c, in, op);
  c.probe_write(op.seg, ea, c.mode64() ? 10 : 6);
  c.write(op.seg, ea, 2, dt.limit);
  c.write(op.seg, (ea + 2) & size_mask(in.addrsize), c.mode64() ? 8 : 4, dt.base);
}
void LGDT(Cpu& c, const DecodedInst& in) {
  load_dt(c, in, c.st.gdt);
}
void LIDT(Cpu& c, const DecodedInst& in) {
  load_dt(c, in, c.st.idt);
}
void SGDT(Cpu& c, const DecodedInst& in) {
  store_dt(c, in, c.st.gdt);
}
void SIDT(Cpu& c, const DecodedInst& in) {
  store_dt(c, in, c.st.idt);
}

// LLDT/LTR: system descriptors, 16 bytes in long mode (SDM Vol. 3A §7.2.3, §3.5).
void load_system_segment(Cpu& c, const DecodedInst& in, int seg) {
  if (!c.protected_mode() || (c.st.rflags & rflags::kVM)) raise(vec::kUD);
  require_cpl0(c);
  const uint16_t sel = static_cast<uint16_t>(read_op_sized(c, in, 0, 2));
  if ((sel & 0xfffc) == 0 && seg == kLdtr) {
    c.st.seg[kLdtr] = Segment{};
    c.st.seg[kLdtr].selector = sel;
    c.st.seg[kLdtr].unusable = true;
    return;
  }
  if ((sel & 0xfffc) == 0 || (sel & 4)) raise(vec::kGP, sel & 0xfffc);
  const uint64_t d = c.read_descriptor(sel, vec::kGP);
  const unsigned type = (d >> 40) & 0xf;
  const bool sys = !((d >> 44) & 1);
  const bool ok = seg == kLdtr ? type == 2 : (type == 9 || (!c.long_mode() && type == 1));
  if (!sys || !ok) raise(vec::kGP, sel & 0xfffc);
  if (!((d >> 47) & 1)) raise(vec::kNP, sel & 0xfffc);
  uint64_t high = 0;
  if (c.long_mode()) high = c.read_sys(c.st.gdt.base + (sel & ~7u) + 8, 4);
  Segment& s = c.st.seg[seg];
  c.set_descriptor_cache(s, sel, d);
  s.base |= high << 32;
  if (seg == kTr) {  // mark busy in the GDT and the cache
    c.write_sys(c.st.gdt.base + (sel & ~7u) + 5, 1, ((d >> 40) & 0xff) | 2);
    s.type |= 2;
  }
}
void LLDT(Cpu& c, const DecodedInst& in) {
  load_system_segment(c, in, kLdtr);
}
void LTR(Cpu& c, const DecodedInst& in) {
  load_system_segment(c, in, kTr);
}
void store_selector(Cpu& c, const DecodedInst& in, uint16_t sel) {
  if (!c.protected_mode()) raise(vec::kUD);
  if (in.ops[0].kind == OpKind::kMem)
    c.write(in.ops[0].seg, effective_address(c, in, in.ops[0]), 2, sel);
  else
    set_gpr(c, in.ops[0].reg, in.ops[0].size, sel);
}
void SLDT(Cpu& c, const DecodedInst& in) {
  store_selector(c, in, c.st.seg[kLdtr].selector);
}
void STR(Cpu& c, const DecodedInst& in) {
  store_selector(c, in, c.st.seg[kTr].selector);
}

void LMSW(Cpu& c, const DecodedInst& in) {
  require_cpl0(c);
  const uint64_t v = read_op_sized(c, in, 0, 2);
  // LMSW sets PE but cannot clear it; it changes only MP, EM, TS besides.
  c.write_cr0((c.st.cr0 & ~0xeull) | (v & 0xf) | (c.st.cr0 & cr0::kPE));
}
void SMSW(Cpu& c, const DecodedInst& in) {
  if (in.ops[0].kind == OpKind::kMem)
    c.write(in.ops[0].seg, effective_address(c, in, in.ops[0]), 2, c.st.cr0);
  else
    set_gpr(c, in.ops[0].reg, in.ops[0].size, c.st.cr0);
}
void CLTS(Cpu& c, const DecodedInst&) {
  require_cpl0(c);
  c.st.cr0 &= ~cr0::kTS;
}
void INVLPG(Cpu& c, const DecodedInst& in) {
  require_cpl0(c);
  const Operand& op = in.ops[0];
  const uint64_t ea = effective_address(c, in, op);
  const bool flat = c.mode64() && op.seg != kFs && op.seg != kGs;
  const uint64_t la = flat ? ea : c.st.seg[op.seg].base + ea;
  c.invlpg(c.mode64() ? la : la & 0xffffffffull);
}
void privileged_nop(Cpu& c, const DecodedInst&) {
  require_cpl0(c);
}
void HLT(Cpu& c, const DecodedInst&) {
  require_cpl0(c);
  c.halt();
}
void CLI(Cpu& c, const DecodedInst&) {
  if (c.protected_mode() && c.cpl() > ((c.st.rflags >> 12) & 3)) raise(vec::kGP, 0);
  c.st.rflags &= ~rflags::kIF;
}
void STI(Cpu& c, const DecodedInst&) {
  if (c.protected_mode() && c.cpl() > ((c.st.rflags >> 12) & 3)) raise(vec::kGP, 0);
  // STI blocks interrupts for one instruction when it sets IF (SDM Vol. 2B STI).
  if (!(c.st.rflags & rflags::kIF)) c.st.events.interrupt_shadow = true;
  c.st.rflags |= rflags::kIF;
  c.end_block = true;
}
void CPUID(Cpu& c, const DecodedInst&) {
  uint32_t r[4];
  cpuid(c, static_cast<uint32_t>(c.st.gpr[kRax]), static_cast<uint32_t>(c.st.gpr[kRcx]), r);
  c.st.gpr[kRax] = r[0];
  c.st.gpr[kRbx] = r[1];
  c.st.gpr[kRcx] = r[2];
  c.st.gpr[kRdx] = r[3];
}
void RDTSC(Cpu& c, const DecodedInst& in) {
  if ((c.st.cr4 & cr4::kTSD) && c.cpl() != 0) raise(vec::kGP, 0);
  const uint64_t t = c.read_tsc();
  c.st.gpr[kRax] = t & 0xffffffff;
  c.st.gpr[kRdx] = t >> 32;
  if (in.op == ZYDIS_MNEMONIC_RDTSCP) c.st.gpr[kRcx] = c.st.tsc_aux & 0xffffffff;
}
void RDMSR(Cpu& c, const DecodedInst&) {
  require_cpl0(c);
  uint64_t v;
  if (!c.rdmsr(static_cast<uint32_t>(c.st.gpr[kRcx]), v)) raise(vec::kGP, 0);
  c.st.gpr[kRax] = v & 0xffffffff;
  c.st.gpr[kRdx] = v >> 32;
}
void WRMSR(Cpu& c, const DecodedInst&) {
  require_cpl0(c);
  const uint64_t v = (c.st.gpr[kRdx] << 32) | (c.st.gpr[kRax] & 0xffffffff);
  if (!c.wrmsr(static_cast<uint32_t>(c.st.gpr[kRcx]), v)) raise(vec::kGP, 0);
}

// SYSCALL/SYSRET (SDM Vol. 2B): flat segments from STAR, RIP from LSTAR, RFLAGS masked.
Segment flat_segment(uint16_t sel, bool code, bool l, unsigned dpl) {
  Segment s;
  s.selector = sel;
  s.base = 0;
  s.limit = 0xffffffff;
  s.type = code ? 0xb : 0x3;
  s.s = true;
  s.dpl = static_cast<uint8_t>(dpl);
  s.present = true;
  s.l = l;
  s.db = !l;
  s.g = true;
  return s;
}
void SYSCALL(Cpu& c, const DecodedInst&) {
  if (!c.mode64() || !(c.st.efer & efer::kSCE)) raise(vec::kUD);
  const uint16_t sel = static_cast<uint16_t>(c.st.star >> 32) & 0xfffc;
  c.st.gpr[kRcx] = c.next_rip;
  c.st.gpr[kR11] = c.st.rflags & ~rflags::kRF;
  c.st.seg[kCs] = flat_segment(sel, true, true, 0);
  c.st.seg[kSs] = flat_segment(static_cast<uint16_t>(sel + 8), false, false, 0);
  c.st.rflags = (c.st.rflags & ~c.st.sfmask & ~rflags::kRF) | rflags::kReserved1;
  c.next_rip = c.st.lstar;
  c.end_block = true;
}
void SYSRET(Cpu& c, const DecodedInst& in) {
  if (!c.long_mode() || !(c.st.efer & efer::kSCE)) raise(vec::kUD);
  if (c.cpl() != 0) raise(vec::kGP, 0);
  const uint16_t base = static_cast<uint16_t>(c.st.star >> 48);
  const bool to64 = in.opsize == 8;
  if (to64) {
    const uint64_t hi = c.st.gpr[kRcx] >> 47;
    if (hi != 0 && hi != 0x1ffff) raise(vec::kGP, 0);
  }
  c.st.seg[kCs] = flat_segment(static_cast<uint16_t>((to64 ? base + 16 : base) | 3), true, to64, 3);
  c.st.seg[kSs] = flat_segment(static_cast<uint16_t>((base + 8) | 3), false, false, 3);
  c.st.rflags = (c.st.gpr[kR11] & 0x3c7fd7) | rflags::kReserved1;
  c.next_rip = to64 ? c.st.gpr[kRcx] : c.st.gpr[kRcx] & 0xffffffff;
  c.end_block = true;
}
// SYSENTER/SYSEXIT (SDM Vol. 2B): flat ring-0 segments from IA32_SYSENTER_CS (SS = CS + 8),
// ring-3 ones at +16/+24 (32-bit) or +32/+40 (64-bit SYSEXIT, REX.W). In long mode SYSENTER
// enters 64-bit code with the full 64-bit ESP/EIP MSRs; otherwise it truncates them.
void SYSENTER(Cpu& c, const DecodedInst&) {
  const uint16_t cs = static_cast<uint16_t>(c.st.sysenter_cs) & 0xfffc;
  if (!c.protected_mode() || cs == 0) raise(vec::kGP, 0);
  const bool lm = c.long_mode();
  c.st.rflags &= ~(rflags::kVM | rflags::kIF | rflags::kRF);
  c.st.seg[kCs] = flat_segment(cs, true, lm, 0);
  c.st.seg[kSs] = flat_segment(static_cast<uint16_t>(cs + 8), false, false, 0);
  c.st.gpr[kRsp] = lm ? c.st.sysenter_esp : c.st.sysenter_esp & 0xffffffff;
  c.next_rip = lm ? c.st.sysenter_eip : c.st.sysenter_eip & 0xffffffff;
  c.end_block = true;
}
void SYSEXIT(Cpu& c, const DecodedInst& in) {
  const uint16_t base = static_cast<uint16_t>(c.st.sysenter_cs) & 0xfffc;
  if (!c.protected_mode() || base == 0 || c.cpl() != 0) raise(vec::kGP, 0);
  const bool to64 = in.opsize == 8;
  if (to64) {
    for (uint64_t a : {c.st.gpr[kRcx], c.st.gpr[kRdx]})
      if ((a >> 47) != 0 && (a >> 47) != 0x1ffff) raise(vec::kGP, 0);
  }
  const uint16_t cs = static_cast<uint16_t>(base + (to64 ? 32 : 16)) | 3;
  c.st.seg[kCs] = flat_segment(cs, true, to64, 3);
  c.st.seg[kSs] = flat_segment(static_cast<uint16_t>(cs + 8), false, false, 3);
  c.st.gpr[kRsp] = to64 ? c.st.gpr[kRcx] : c.st.gpr[kRcx] & 0xffffffff;
  c.next_rip = to64 ? c.st.gpr[kRdx] : c.st.gpr[kRdx] & 0xffffffff;
  c.end_block = true;
}
void SWAPGS(Cpu& c, const DecodedInst&) {
  if (!c.mode64()) raise(vec::kUD);
  require_cpl0(c);
  std::swap(c.st.seg[kGs].base, c.st.kernel_gs_base);
}

// LDS/LES/LFS/LGS/LSS r, m16:16/32/64.
void load_far_pointer(Cpu& c, const DecodedInst& in, int seg) {
  const Operand& m = in.ops[1];
  const unsigned osz = in.ops[0].size;
  const uint64_t ea = effective_address(c, in, m);
  const uint64_t off = c.read(m.seg, ea, osz);
  const uint16_t sel = static_cast<uint16_t>(c.read(m.seg, (ea + osz) & size_mask(in.addrsize), 2));
  c.load_segment(seg, sel);
  set_gpr(c, in.ops[0].reg, osz, off);
  if (seg == kSs) c.st.events.interrupt_shadow = true;
}
template <int kSeg>
void LxS(Cpu& c, const DecodedInst& in) {
  load_far_pointer(c, in, kSeg);
}

}  // namespace

void register_system(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_MOV] = MOV;
  t[ZYDIS_MNEMONIC_LGDT] = LGDT;
  t[ZYDIS_MNEMONIC_LIDT] = LIDT;
  t[ZYDIS_MNEMONIC_SGDT] = SGDT;
  t[ZYDIS_MNEMONIC_SIDT] = SIDT;
  t[ZYDIS_MNEMONIC_LLDT] = LLDT;
  t[ZYDIS_MNEMONIC_LTR] = LTR;
  t[ZYDIS_MNEMONIC_SLDT] = SLDT;
  t[ZYDIS_MNEMONIC_STR] = STR;
  t[ZYDIS_MNEMONIC_LMSW] = LMSW;
  t[ZYDIS_MNEMONIC_SMSW] = SMSW;
  t[ZYDIS_MNEMONIC_CLTS] = CLTS;
  t[ZYDIS_MNEMONIC_INVLPG] = INVLPG;
  t[ZYDIS_MNEMONIC_WBINVD] = t[ZYDIS_MNEMONIC_INVD] = privileged_nop;
  t[ZYDIS_MNEMONIC_CLFLUSH] = [](Cpu&, const DecodedInst&) {};
  t[ZYDIS_MNEMONIC_HLT] = HLT;
  t[ZYDIS_MNEMONIC_CLI] = CLI;
  t[ZYDIS_MNEMONIC_STI] = STI;
  t[ZYDIS_MNEMONIC_CPUID] = CPUID;
  t[ZYDIS_MNEMONIC_RDTSC] = t[ZYDIS_MNEMONIC_RDTSCP] = RDTSC;
  t[ZYDIS_MNEMONIC_RDMSR] = RDMSR;
  t[ZYDIS_MNEMONIC_WRMSR] = WRMSR;
  t[ZYDIS_MNEMONIC_SYSCALL] = SYSCALL;
  t[ZYDIS_MNEMONIC_SYSRET] = SYSRET;
  t[ZYDIS_MNEMONIC_SWAPGS] = SWAPGS;
  t[ZYDIS_MNEMONIC_SYSENTER] = SYSENTER;
  t[ZYDIS_MNEMONIC_SYSEXIT] = SYSEXIT;
  t[ZYDIS_MNEMONIC_LDS] = LxS<kDs>;
  t[ZYDIS_MNEMONIC_LES] = LxS<kEs>;
  t[ZYDIS_MNEMONIC_LFS] = LxS<kFs>;
  t[ZYDIS_MNEMONIC_LGS] = LxS<kGs>;
  t[ZYDIS_MNEMONIC_LSS] = LxS<kSs>;
}

}  // namespace vessel::engine::emu::interp
