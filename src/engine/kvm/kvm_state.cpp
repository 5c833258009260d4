#include "engine/kvm/kvm_state.hpp"

#include <cstring>

namespace vessel::engine::kvm {
namespace {

using arch::Segment;

kvm_segment to_kvm(const Segment& s) {
  kvm_segment k{};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type;
  k.present = s.present;
  k.dpl = s.dpl;
  k.db = s.db;
  k.s = s.s;
  k.l = s.l;
  k.g = s.g;
  k.avl = s.avl;
  k.unusable = s.unusable;
  return k;
}

Segment from_kvm(const kvm_segment& k) {
  Segment s;
  s.base = k.base;
  s.limit = k.limit;
  s.selector = k.selector;
  s.type = k.type;
  s.present = k.present;
  s.dpl = k.dpl;
  s.db = k.db;
  s.s = k.s;
  s.l = k.l;
  s.g = k.g;
  s.avl = k.avl;
  s.unusable = k.unusable;
  return s;
}

}  // namespace

void to_kvm(const arch::CpuState& s, kvm_regs& r, kvm_sregs& sr, kvm_fpu& f) {
  using namespace arch;
  r = {};
  r.rax = s[kRax], r.rbx = s[kRbx], r.rcx = s[kRcx], r.rdx = s[kRdx];
  r.rsi = s[kRsi], r.rdi = s[kRdi], r.rsp = s[kRsp], r.rbp = s[kRbp];
  r.r8 = s[kR8], r.r9 = s[kR9], r.r10 = s[kR10], r.r11 = s[kR11];
  r.r12 = s[kR12], r.r13 = s[kR13], r.r14 = s[kR14], r.r15 = s[kR15];
  r.rip = s.rip;
  r.rflags = s.rflags;

  sr = {};
  sr.cs = to_kvm(s.seg[kCs]), sr.ds = to_kvm(s.seg[kDs]), sr.es = to_kvm(s.seg[kEs]);
  sr.fs = to_kvm(s.seg[kFs]), sr.gs = to_kvm(s.seg[kGs]), sr.ss = to_kvm(s.seg[kSs]);
  sr.tr = to_kvm(s.seg[kTr]), sr.ldt = to_kvm(s.seg[kLdtr]);
  sr.gdt.base = s.gdt.base, sr.gdt.limit = s.gdt.limit;
  sr.idt.base = s.idt.base, sr.idt.limit = s.idt.limit;
  sr.cr0 = s.cr0, sr.cr2 = s.cr2, sr.cr3 = s.cr3, sr.cr4 = s.cr4, sr.cr8 = s.cr8;
  sr.efer = s.efer;
  sr.apic_base = s.apic_base;

  f = {};
  f.fcw = s.fpu.fcw;
  f.fsw = s.fpu.fsw;
  f.ftwx = s.fpu.ftw;
  f.last_opcode = s.fpu.fop;
  f.last_ip = s.fpu.fip;
  f.last_dp = s.fpu.fdp;
  f.mxcsr = s.fpu.mxcsr;
  std::memcpy(f.fpr, s.fpu.st.data(), sizeof f.fpr);
  std::memcpy(f.xmm, s.fpu.xmm.data(), sizeof f.xmm);
}

void from_kvm(const kvm_regs& r, const kvm_sregs& sr, const kvm_fpu& f, arch::CpuState& s) {
  using namespace arch;
  s[kRax] = r.rax, s[kRbx] = r.rbx, s[kRcx] = r.rcx, s[kRdx] = r.rdx;
  s[kRsi] = r.rsi, s[kRdi] = r.rdi, s[kRsp] = r.rsp, s[kRbp] = r.rbp;
  s[kR8] = r.r8, s[kR9] = r.r9, s[kR10] = r.r10, s[kR11] = r.r11;
  s[kR12] = r.r12, s[kR13] = r.r13, s[kR14] = r.r14, s[kR15] = r.r15;
  s.rip = r.rip;
  s.rflags = r.rflags;

  s.seg[kCs] = from_kvm(sr.cs), s.seg[kDs] = from_kvm(sr.ds), s.seg[kEs] = from_kvm(sr.es);
  s.seg[kFs] = from_kvm(sr.fs), s.seg[kGs] = from_kvm(sr.gs), s.seg[kSs] = from_kvm(sr.ss);
  s.seg[kTr] = from_kvm(sr.tr), s.seg[kLdtr] = from_kvm(sr.ldt);
  s.gdt = {sr.gdt.base, sr.gdt.limit};
  s.idt = {sr.idt.base, sr.idt.limit};
  s.cr0 = sr.cr0, s.cr2 = sr.cr2, s.cr3 = sr.cr3, s.cr4 = sr.cr4, s.cr8 = sr.cr8;
  s.efer = sr.efer;
  s.apic_base = sr.apic_base;

  s.fpu.fcw = f.fcw;
  s.fpu.fsw = f.fsw;
  s.fpu.ftw = f.ftwx;
  s.fpu.fop = f.last_opcode;
  s.fpu.fip = f.last_ip;
  s.fpu.fdp = f.last_dp;
  s.fpu.mxcsr = f.mxcsr;
  std::memcpy(s.fpu.st.data(), f.fpr, sizeof f.fpr);
  std::memcpy(s.fpu.xmm.data(), f.xmm, sizeof f.xmm);
}

}  // namespace vessel::engine::kvm
