// Segment loads with descriptor caches and their protection checks (SDM Vol. 3A ch. 3, §5.5-5.8):
// MOV/POP to a segment register, far JMP/CALL/RET and IRET (including IRET to and within
// virtual-8086 mode, SDM Vol. 3A ch. 20); call gates are in call_gate.cpp, task switches in
// task_switch.cpp.
#include <fmt/format.h>

#include "engine/emu/cpu.hpp"

namespace vessel::engine::emu {

using namespace arch;

void Cpu::push(uint64_t v, unsigned size) {
  const unsigned ss = stack_size();
  const uint64_t mask = ss == 8 ? ~0ull : ss == 4 ? 0xffffffffull : 0xffffull;
  const uint64_t rsp = (st.gpr[kRsp] - size) & mask;
  write(kSs, rsp, size, v);
  st.gpr[kRsp] = (st.gpr[kRsp] & ~mask) | rsp;
}

uint64_t Cpu::pop(unsigned size) {
  const unsigned ss = stack_size();
  const uint64_t mask = ss == 8 ? ~0ull : ss == 4 ? 0xffffffffull : 0xffffull;
  const uint64_t rsp = st.gpr[kRsp] & mask;
  const uint64_t v = read(kSs, rsp, size);
  st.gpr[kRsp] = (st.gpr[kRsp] & ~mask) | ((rsp + size) & mask);
  return v;
}

uint64_t Cpu::rsp_masked() const {
  const unsigned ss = stack_size();
  return st.gpr[kRsp] & (ss == 8 ? ~0ull : ss == 4 ? 0xffffffffull : 0xffffull);
}

void Cpu::load_real_segment(int seg, uint16_t selector) {
  Segment& s = st.seg[seg];
  s.selector = selector;
  s.base = uint64_t{selector} << 4;
  s.unusable = false;
  s.present = true;
  if (st.rflags & rflags::kVM) {  // virtual-8086: fixed attributes
    s.limit = 0xffff;
    s.dpl = 3;
    s.type = seg == kCs ? 0xb : 0x3;
    s.s = true;
    s.db = s.g = s.l = false;
  }
  if (seg == kCs) s.l = false;
}

uint64_t Cpu::read_descriptor(uint16_t selector, int fault_vector) {
  const bool ldt = selector & 4;
  const DescriptorTable table =
      ldt ? DescriptorTable{st.seg[kLdtr].base, static_cast<uint16_t>(st.seg[kLdtr].limit)}
          : st.gdt;
  const uint32_t limit = ldt ? st.seg[kLdtr].limit : st.gdt.limit;
  if ((ldt && st.seg[kLdtr].unusable) || (selector | 7u) > limit)
    raise(static_cast<uint8_t>(fault_vector), selector & 0xfffc);
  return read_sys(table.base + (selector & ~7u), 8);
}

void Cpu::set_descriptor_cache(Segment& s, uint16_t selector, uint64_t d) const {
  s.selector = selector;
  s.base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
  uint32_t limit = static_cast<uint32_t>((d & 0xffff) | ((d >> 32) & 0xf0000));
  s.g = (d >> 55) & 1;
  s.limit = s.g ? (limit << 12) | 0xfff : limit;
  s.type = (d >> 40) & 0xf;
  s.s = (d >> 44) & 1;
  s.dpl = (d >> 45) & 3;
  s.present = (d >> 47) & 1;
  s.avl = (d >> 52) & 1;
  s.l = (d >> 53) & 1;
  s.db = (d >> 54) & 1;
  s.unusable = false;
}

namespace {
// Sets the accessed bit in the descriptor (SDM Vol. 3A §3.4.5.1) if it is clear.
void mark_accessed(Cpu& cpu, uint16_t selector, uint64_t desc) {
  if (desc & (1ull << 40)) return;
  const bool ldt = selector & 4;
  const uint64_t base = ldt ? cpu.st.seg[kLdtr].base : cpu.st.gdt.base;
  cpu.write_sys(base + (selector & ~7u) + 5, 1, ((desc >> 40) & 0xff) | 1);
}
}  // namespace

void Cpu::load_segment(int seg, uint16_t selector) {
  if (!protected_mode() || (st.rflags & rflags::kVM)) return load_real_segment(seg, selector);
  const uint32_t err = selector & 0xfffc;
  if (err == 0) {  // null selector
    if (seg == kSs && (!mode64() || cpl() == 3 || (selector & 3) != cpl())) raise(vec::kGP, 0);
    Segment& s = st.seg[seg];
    s = Segment{};
    s.selector = selector;
    s.unusable = true;
    s.present = false;
    if (seg == kSs) s.dpl = static_cast<uint8_t>(cpl());
    return;
  }
  const uint64_t d = read_descriptor(selector, vec::kGP);
  const unsigned rpl = selector & 3, dpl = (d >> 45) & 3, c = cpl();
  const bool s_bit = (d >> 44) & 1, code = (d >> 43) & 1, rw = (d >> 41) & 1;
  const bool conforming = code && ((d >> 42) & 1);
  if (seg == kSs) {
    if (!s_bit || code || !rw || rpl != c || dpl != c) raise(vec::kGP, err);
    if (!((d >> 47) & 1)) raise(vec::kSS, err);
  } else {
    if (!s_bit || (code && !rw)) raise(vec::kGP, err);
    if (!conforming && (rpl > dpl || c > dpl)) raise(vec::kGP, err);
    if (!((d >> 47) & 1)) raise(vec::kNP, err);
  }
  mark_accessed(*this, selector, d);
  set_descriptor_cache(st.seg[seg], selector, d | (1ull << 40));
}

// Checks a code-segment descriptor as the target of a far JMP/CALL/RET (SDM Vol. 3A §5.8.1).
static uint64_t check_code_target(Cpu& cpu, uint16_t selector, unsigned new_cpl, bool ret) {
  const uint32_t err = selector & 0xfffc;
  if (err == 0) raise(vec::kGP, 0);
  const uint64_t d = cpu.read_descriptor(selector, vec::kGP);
  const unsigned rpl = selector & 3, dpl = (d >> 45) & 3;
  const bool code = ((d >> 43) & 3) == 3, conforming = (d >> 42) & 1;
  if (!code) raise(vec::kGP, err);  // (TSSs and task gates were taken before, outside IA-32e)
  if (ret) {
    if (rpl < cpu.cpl() || (conforming ? dpl > rpl : dpl != rpl)) raise(vec::kGP, err);
  } else if (conforming ? dpl > new_cpl : (rpl > new_cpl || dpl != new_cpl)) {
    raise(vec::kGP, err);
  }
  if (!((d >> 47) & 1)) raise(vec::kNP, err);
  if (cpu.long_mode() && ((d >> 53) & 1) && ((d >> 54) & 1)) raise(vec::kGP, err);
  return d;
}

void Cpu::far_transfer(uint16_t selector, uint64_t offset, bool is_call, unsigned opsize) {
  const uint64_t mask = opsize == 8 ? ~0ull : opsize == 4 ? 0xffffffffull : 0xffffull;
  if (!protected_mode() || (st.rflags & rflags::kVM)) {
    if (is_call) {
      push(st.seg[kCs].selector, opsize);
      push(next_rip, opsize);
    }
    load_real_segment(kCs, selector);
    next_rip = offset & mask;
    end_block = true;
    return;
  }
  if ((selector & 0xfffc) != 0) {  // a call gate: its own checks and stack switch
    const uint64_t g = read_descriptor(selector, vec::kGP);
    const unsigned type = (g >> 40) & 0xf;
    if (!((g >> 44) & 1) && (type == 0xc || (!long_mode() && type == 0x4)))
      return call_gate(selector, g, is_call);
    // A TSS or task gate: a task switch (IA-32e mode has none; they fail the code check).
    if (!((g >> 44) & 1) && !long_mode() && (type == 5 || (type & 5) == 1))
      return task_transfer(selector, g, is_call);
  }
  const uint64_t d = check_code_target(*this, selector, cpl(), false);
  const bool l = ((d >> 53) & 1) && long_mode();
  if (is_call) {
    probe_write(kSs, (rsp_masked() - 2 * opsize) & (stack_size() == 8 ? ~0ull : 0xffffffffull),
                2 * opsize);
    push(st.seg[kCs].selector, opsize);
    push(next_rip, opsize);
  }
  set_descriptor_cache(st.seg[kCs], static_cast<uint16_t>((selector & ~3) | cpl()),
                       d | (1ull << 40));
  next_rip = l ? offset : offset & mask;
  end_block = true;
}

// After a return to an outer level, data segments the new CPL may not use become null
// (SDM Vol. 3A §5.8.6 "RET" and the IRET pseudo-code).
static void null_inaccessible_segments(Cpu& cpu) {
  for (int seg : {kEs, kDs, kFs, kGs}) {
    Segment& s = cpu.st.seg[seg];
    const bool conforming_code = (s.type & 0xc) == 0xc;
    if (!s.unusable && s.s && !conforming_code && s.dpl < cpu.cpl()) {
      s = Segment{};
      s.unusable = true;
      s.present = false;
    }
  }
}

void Cpu::far_return(unsigned opsize, uint64_t pop_extra) {
  if (!protected_mode() || (st.rflags & rflags::kVM)) {
    const uint64_t ip = pop(opsize);
    const uint16_t cs = static_cast<uint16_t>(pop(opsize));
    st.gpr[kRsp] += pop_extra;
    if (stack_size() == 2) st.gpr[kRsp] &= 0xffff;
    load_real_segment(kCs, cs);
    next_rip = ip & (opsize == 4 ? 0xffffffffull : 0xffffull);
    end_block = true;
    return;
  }
  const uint64_t ip = read(kSs, rsp_masked(), opsize);
  const uint16_t cs = static_cast<uint16_t>(read(kSs, (rsp_masked() + opsize), opsize));
  const uint64_t d = check_code_target(*this, cs, cpl(), true);
  const unsigned rpl = cs & 3;
  const bool outer = rpl > cpl();
  uint64_t new_rsp = 0;
  uint16_t new_ss = 0;
  if (outer) {
    const uint64_t at = rsp_masked() + 2 * opsize + pop_extra;
    new_rsp = read(kSs, at, opsize);
    new_ss = static_cast<uint16_t>(read(kSs, at + opsize, opsize));
  }
  const Segment old_cs = st.seg[kCs];
  set_descriptor_cache(st.seg[kCs], cs, d | (1ull << 40));
  if (outer) {
    try {
      load_segment(kSs, new_ss);
    } catch (const GuestFault&) {
      st.seg[kCs] = old_cs;
      throw;
    }
    st.gpr[kRsp] = new_rsp + pop_extra;
    null_inaccessible_segments(*this);
  } else {
    st.gpr[kRsp] += 2 * opsize + pop_extra;
  }
  if (stack_size() == 4) st.gpr[kRsp] &= 0xffffffffull;
  const bool l = ((d >> 53) & 1) && long_mode();
  next_rip = l ? ip : ip & (opsize == 2 ? 0xffffull : 0xffffffffull);
  end_block = true;
}

void Cpu::iret(unsigned opsize) {
  // Which RFLAGS bits IRET may change (SDM Vol. 2A IRET pseudo-code).
  auto merge_flags = [&](uint64_t v, unsigned new_cpl) {
    uint64_t mask = rflags::kCF | rflags::kPF | rflags::kAF | rflags::kZF | rflags::kSF |
                    rflags::kTF | rflags::kDF | rflags::kOF | rflags::kNT;
    if (opsize >= 4) mask |= rflags::kRF | rflags::kAC | rflags::kID;
    const unsigned iopl = (st.rflags >> 12) & 3;
    if (cpl() <= iopl) mask |= rflags::kIF;
    if (cpl() == 0) mask |= rflags::kIOPL | (opsize >= 4 ? rflags::kVIF | rflags::kVIP : 0);
    (void)new_cpl;
    st.rflags = (st.rflags & ~mask) | (v & mask) | rflags::kReserved1;
  };
  nmi_blocked_ = false;
  end_block = true;
  if (!protected_mode()) {
    const uint64_t ip = pop(opsize);
    const uint16_t cs = static_cast<uint16_t>(pop(opsize));
    const uint64_t fl = pop(opsize);
    load_real_segment(kCs, cs);
    next_rip = ip & (opsize == 4 ? 0xffffffffull : 0xffffull);
    const uint64_t mask = opsize == 4 ? 0x257fd5ull : 0x7fd5ull;  // IOPL/NT/IF etc. in real mode
    st.rflags = (st.rflags & ~mask) | (fl & mask) | rflags::kReserved1;
    return;
  }
  if (st.rflags & rflags::kVM) {  // in virtual-8086 mode: real-mode IRET if IOPL = 3
    if (((st.rflags >> 12) & 3) < 3) raise(vec::kGP, 0);
    const uint64_t ip = pop(opsize);
    const uint16_t cs = static_cast<uint16_t>(pop(opsize));
    const uint64_t fl = pop(opsize);
    load_real_segment(kCs, cs);
    next_rip = ip & 0xffff;
    // IOPL, VM, VIF and VIP are not the v86 task's to change.
    const uint64_t mask = opsize == 4 ? 0x254fd5ull : 0x4fd5ull;
    st.rflags = (st.rflags & ~mask) | (fl & mask) | rflags::kReserved1;
    return;
  }
  if (st.rflags & rflags::kNT) {
    if (long_mode()) raise(vec::kGP, 0);
    return task_return();
  }
  const uint64_t sp = rsp_masked();
  const uint64_t ip = read(kSs, sp, opsize);
  const uint16_t cs = static_cast<uint16_t>(read(kSs, sp + opsize, opsize));
  const uint64_t fl = read(kSs, sp + 2 * opsize, opsize);
  if ((fl & rflags::kVM) && cpl() == 0 && opsize == 4 && !long_mode()) return iret_to_v86(sp);
  const uint64_t d = check_code_target(*this, cs, cpl(), true);
  const unsigned rpl = cs & 3;
  const bool pop_stack = mode64() || rpl > cpl();
  uint64_t new_rsp = 0;
  uint16_t new_ss = 0;
  if (pop_stack) {
    new_rsp = read(kSs, sp + 3 * opsize, opsize);
    new_ss = static_cast<uint16_t>(read(kSs, sp + 4 * opsize, opsize));
  }
  const Segment old_cs = st.seg[kCs], old_ss = st.seg[kSs];
  const unsigned old_cpl = cpl();
  set_descriptor_cache(st.seg[kCs], cs, d | (1ull << 40));
  if (pop_stack) {
    try {
      // 64-bit IRET may load a null SS when returning to a 64-bit CPL<3 segment (§6.14.3).
      if ((new_ss & 0xfffc) == 0 && long_mode() && ((d >> 53) & 1) && rpl != 3) {
        st.seg[kSs] = Segment{};
        st.seg[kSs].selector = new_ss;
        st.seg[kSs].unusable = true;
        st.seg[kSs].dpl = static_cast<uint8_t>(rpl);
      } else {
        load_segment(kSs, new_ss);
      }
    } catch (const GuestFault&) {
      st.seg[kCs] = old_cs;
      st.seg[kSs] = old_ss;
      throw;
    }
    st.gpr[kRsp] = opsize == 8 ? new_rsp : new_rsp & 0xffffffffull;
    if (rpl > old_cpl) null_inaccessible_segments(*this);
  } else {
    st.gpr[kRsp] = (st.gpr[kRsp] & (stack_size() == 2 ? ~0xffffull : 0)) |
                   ((sp + 3 * opsize) & (stack_size() == 2 ? 0xffffull : 0xffffffffull));
  }
  // merge with the privilege of the code IRET runs in (the old CPL).
  const Segment new_cs = st.seg[kCs];
  st.seg[kCs] = old_cs;
  merge_flags(fl, rpl);
  st.seg[kCs] = new_cs;
  const bool l = ((d >> 53) & 1) && long_mode();
  next_rip = l ? ip : ip & (opsize == 2 ? 0xffffull : 0xffffffffull);
}

// IRET from CPL 0 to virtual-8086 mode (SDM Vol. 2A IRET, RETURN-TO-VIRTUAL-8086-MODE): the
// 32-bit frame EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS; all of it read before anything
// changes. The segments get real-mode style bases and the fixed v86 attributes.
void Cpu::iret_to_v86(uint64_t sp) {
  uint32_t frame[9];
  const uint64_t wrap = stack_size() == 2 ? 0xffff : 0xffffffff;
  for (unsigned i = 0; i < 9; ++i)
    frame[i] = static_cast<uint32_t>(read(kSs, (sp + 4 * i) & wrap, 4));
  st.rflags = (frame[2] & 0x3f7fd5) | rflags::kReserved1;  // VM set: cpl() is 3 from here
  load_real_segment(kCs, static_cast<uint16_t>(frame[1]));
  load_real_segment(kSs, static_cast<uint16_t>(frame[4]));
  load_real_segment(kEs, static_cast<uint16_t>(frame[5]));
  load_real_segment(kDs, static_cast<uint16_t>(frame[6]));
  load_real_segment(kFs, static_cast<uint16_t>(frame[7]));
  load_real_segment(kGs, static_cast<uint16_t>(frame[8]));
  st.gpr[kRsp] = frame[3];
  next_rip = frame[0] & 0xffff;
}

}  // namespace vessel::engine::emu
