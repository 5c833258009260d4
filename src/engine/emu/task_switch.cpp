// Hardware task switching (SDM Vol. 3A ch. 7; Vol. 2A CALL, JMP, INT n, IRET pseudo-code):
// far JMP/CALL to a TSS descriptor or a task gate, interrupts and exceptions through a task
// gate in the IDT, and IRET with EFLAGS.NT = 1 back through the TSS's back link. 16- and
// 32-bit TSSs; IA-32e mode has no task switching (callers raise #GP before getting here).
//
// Everything before the commit point (checks on the new TSS, reading its image, probing the
// old TSS for writes) faults with nothing changed. After it (§7.3 step 12-13) the outgoing
// state is saved, TR, CR3, EFLAGS, EIP and the registers belong to the new task, and a bad
// LDT or segment selector in the new TSS faults in the new task's context. A 32-bit TSS with
// its T bit set raises #DB (DR6.BT, a trap) in the new task once the switch is complete
// (§7.2.1, Vol. 3B §17.3.1.5), before its first instruction.
#include "engine/emu/cpu.hpp"

namespace vessel::engine::emu {

using namespace arch;

namespace {

// The register image of a TSS (16-bit fields are zero-extended).
struct TaskImage {
  uint32_t cr3 = 0, eip = 0, eflags = 0;
  uint32_t gpr[8] = {};
  uint16_t seg[6] = {};  // ES, CS, SS, DS, FS, GS (the SegIndex order)
  uint16_t ldt = 0;
  bool trap = false;  // the T bit (32-bit TSS only): #DB once the switch is done
};

// Field offsets (SDM Vol. 3A Figures 7-2 and 7-11).
struct Layout {
  uint32_t eip, eflags, gpr, seg, ldt, width, nsegs, min_limit;
};
constexpr Layout kTss32{0x20, 0x24, 0x28, 0x48, 0x60, 4, 6, 0x67};
constexpr Layout kTss16{0x0e, 0x10, 0x12, 0x22, 0x2a, 2, 4, 0x2b};

const Layout& layout_of(unsigned type) {
  return (type & 8) ? kTss32 : kTss16;
}

bool is_tss(uint64_t desc) {
  const unsigned type = (desc >> 40) & 0xf;
  return !((desc >> 44) & 1) && (type & 5) == 1;  // 1, 3, 9, 0xb
}
bool tss_busy(uint64_t desc) {
  return (desc >> 41) & 1;
}
uint32_t desc_limit(uint64_t d) {
  const uint32_t limit = static_cast<uint32_t>((d & 0xffff) | ((d >> 32) & 0xf0000));
  return ((d >> 55) & 1) ? (limit << 12) | 0xfff : limit;
}
uint64_t desc_base(uint64_t d) {
  return ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
}

TaskImage read_image(Cpu& c, uint64_t base, unsigned type) {
  const Layout& l = layout_of(type);
  TaskImage t;
  if (type & 8) t.cr3 = static_cast<uint32_t>(c.read_sys(base + 0x1c, 4));
  t.eip = static_cast<uint32_t>(c.read_sys(base + l.eip, l.width));
  t.eflags = static_cast<uint32_t>(c.read_sys(base + l.eflags, l.width));
  for (unsigned i = 0; i < 8; ++i)
    t.gpr[i] = static_cast<uint32_t>(c.read_sys(base + l.gpr + i * l.width, l.width));
  for (unsigned i = 0; i < l.nsegs; ++i)
    t.seg[i] = static_cast<uint16_t>(c.read_sys(base + l.seg + i * l.width, 2));
  t.ldt = static_cast<uint16_t>(c.read_sys(base + l.ldt, 2));
  if (type & 8) t.trap = c.read_sys(base + 0x64, 2) & 1;
  return t;
}

// Saves the outgoing task's dynamic fields into its TSS.
void save_image(Cpu& c, uint64_t base, unsigned type, uint32_t eip, uint32_t eflags) {
  const Layout& l = layout_of(type);
  c.write_sys(base + l.eip, l.width, eip);
  c.write_sys(base + l.eflags, l.width, eflags);
  for (unsigned i = 0; i < 8; ++i) c.write_sys(base + l.gpr + i * l.width, l.width, c.st.gpr[i]);
  for (unsigned i = 0; i < l.nsegs; ++i)
    c.write_sys(base + l.seg + i * l.width, 2, c.st.seg[i].selector);
}

void set_busy(Cpu& c, uint16_t sel, bool busy) {
  const uint64_t at = c.st.gdt.base + (sel & ~7u) + 5;
  const uint64_t access = c.read_sys(at, 1);
  c.write_sys(at, 1, busy ? access | 2 : access & ~2ull);
}

// A descriptor read whose faults carry the EXT bit of the event that caused the switch.
uint64_t descriptor(Cpu& c, uint16_t sel, uint8_t fault, uint32_t ext) {
  try {
    return c.read_descriptor(sel, fault);
  } catch (GuestFault& f) {
    f.error |= ext;
    throw;
  }
}

void mark_accessed(Cpu& c, uint16_t sel, uint64_t desc) {
  if (desc & (1ull << 40)) return;
  const uint64_t table = (sel & 4) ? c.st.seg[kLdtr].base : c.st.gdt.base;
  c.write_sys(table + (sel & ~7u) + 5, 1, ((desc >> 40) & 0xff) | 1);
}

// LDTR from the new TSS: null, or an LDT descriptor in the GDT (§7.3, Table 7-1: #TS).
void load_task_ldt(Cpu& c, uint16_t sel, uint32_t ext) {
  Segment& ldtr = c.st.seg[kLdtr];
  if ((sel & 0xfffc) == 0) {
    ldtr = Segment{};
    ldtr.selector = sel;
    ldtr.unusable = true;
    return;
  }
  const uint32_t err = (sel & 0xfffc) | ext;
  if ((sel & 4) || (sel | 7u) > c.st.gdt.limit) raise(vec::kTS, err);
  const uint64_t d = c.read_sys(c.st.gdt.base + (sel & ~7u), 8);
  if (((d >> 44) & 1) || ((d >> 40) & 0xf) != 2 || !((d >> 47) & 1)) raise(vec::kTS, err);
  c.set_descriptor_cache(ldtr, sel, d);
}

// One segment register of the new task with the task-switch checks (Table 7-1): #TS for a
// bad selector or descriptor, #NP (#SS for SS) when it is not present. CS is loaded first,
// so cpl() is the new task's CPL for the others.
void load_task_segment(Cpu& c, int seg, uint16_t sel, uint32_t ext) {
  const uint32_t err = (sel & 0xfffc) | ext;
  Segment& s = c.st.seg[seg];
  if ((sel & 0xfffc) == 0) {
    if (seg == kCs || seg == kSs) raise(vec::kTS, err);
    s = Segment{};
    s.selector = sel;
    s.unusable = true;
    return;
  }
  const uint64_t d = descriptor(c, sel, vec::kTS, ext);
  const unsigned rpl = sel & 3, dpl = (d >> 45) & 3, cpl = c.cpl();
  const bool s_bit = (d >> 44) & 1, code = (d >> 43) & 1, rw = (d >> 41) & 1;
  const bool conforming = code && ((d >> 42) & 1);
  const bool present = (d >> 47) & 1;
  if (seg == kCs) {
    if (!s_bit || !code || (conforming ? dpl > rpl : dpl != rpl)) raise(vec::kTS, err);
    if (!present) raise(vec::kNP, err);
  } else if (seg == kSs) {
    if (!s_bit || code || !rw || rpl != cpl || dpl != cpl) raise(vec::kTS, err);
    if (!present) raise(vec::kSS, err);
  } else {
    if (!s_bit || (code && !rw)) raise(vec::kTS, err);
    if (!conforming && (dpl < rpl || dpl < cpl)) raise(vec::kTS, err);
    if (!present) raise(vec::kNP, err);
  }
  mark_accessed(c, sel, d);
  c.set_descriptor_cache(s, sel, d | (1ull << 40));
}

// The TSS of a task gate (GDT/LDT or IDT): in the GDT, an available TSS (#GP otherwise),
// present (#NP).
uint64_t gate_tss(Cpu& c, uint16_t tss_sel, uint32_t ext) {
  const uint32_t err = (tss_sel & 0xfffc) | ext;
  if (tss_sel & 4) raise(vec::kGP, err);
  const uint64_t d = descriptor(c, tss_sel, vec::kGP, ext);
  if (!is_tss(d) || tss_busy(d)) raise(vec::kGP, err);
  if (!((d >> 47) & 1)) raise(vec::kNP, err);
  return d;
}

}  // namespace

void Cpu::task_transfer(uint16_t sel, uint64_t desc, bool is_call) {
  const uint32_t err = sel & 0xfffc;
  const unsigned dpl = (desc >> 45) & 3;
  if (dpl < cpl() || dpl < (sel & 3u)) raise(vec::kGP, err);
  const TaskEntry how = is_call ? TaskEntry::kCall : TaskEntry::kJmp;
  if (((desc >> 40) & 0xf) == 5) {  // task gate: its DPL was checked, the TSS's is not
    if (!((desc >> 47) & 1)) raise(vec::kNP, err);
    const uint16_t tss_sel = static_cast<uint16_t>(desc >> 16);
    if (switch_task(tss_sel, gate_tss(*this, tss_sel, 0), how, next_rip, 0)) task_switch_trap();
    return;
  }
  if ((sel & 4) || tss_busy(desc)) raise(vec::kGP, err);
  if (!((desc >> 47) & 1)) raise(vec::kNP, err);
  if (switch_task(sel, desc, how, next_rip, 0)) task_switch_trap();
}

void Cpu::task_gate_event(uint64_t gate, bool has_error, uint32_t error, uint32_t ext,
                          uint64_t ret_rip) {
  const uint16_t tss_sel = static_cast<uint16_t>(gate >> 16);
  const bool trap =
      switch_task(tss_sel, gate_tss(*this, tss_sel, ext), TaskEntry::kEvent, ret_rip, ext);
  if (has_error) push(error, (st.seg[kTr].type & 8) ? 4 : 2);
  if (trap) task_switch_trap();
}

void Cpu::task_return() {
  const uint16_t back = static_cast<uint16_t>(read_sys(st.seg[kTr].base, 2));
  const uint32_t err = back & 0xfffc;
  if ((back & 4) || (back | 7u) > st.gdt.limit) raise(vec::kTS, err);
  const uint64_t d = read_sys(st.gdt.base + (back & ~7u), 8);
  if (!is_tss(d) || !tss_busy(d)) raise(vec::kTS, err);
  if (!((d >> 47) & 1)) raise(vec::kNP, err);
  if (switch_task(back, d, TaskEntry::kIret, next_rip, 0)) task_switch_trap();
}

bool Cpu::switch_task(uint16_t sel, uint64_t desc, TaskEntry how, uint64_t old_eip, uint32_t ext) {
  const uint32_t err = (sel & 0xfffc) | ext;
  const unsigned type = (desc >> 40) & 0xf;
  const uint64_t base = desc_base(desc);
  const Layout& layout = layout_of(type);
  if (desc_limit(desc) < layout.min_limit) raise(vec::kTS, err);
  Segment& tr = st.seg[kTr];
  const uint32_t tr_err = (tr.selector & 0xfffc) | ext;
  if (tr.unusable || tr.s || (tr.type & 5) != 1) raise(vec::kTS, tr_err);
  const Layout& old_layout = layout_of(tr.type);
  if (tr.limit < old_layout.min_limit) raise(vec::kTS, tr_err);

  // Before the commit point: read the new image, make sure the old TSS can take the save.
  const TaskImage in = read_image(*this, base, type);
  translate(tr.base, Access::kWrite, false);
  translate(tr.base + old_layout.ldt, Access::kWrite, false);
  if (how == TaskEntry::kCall || how == TaskEntry::kEvent) translate(base, Access::kWrite, false);

  // Commit: the outgoing task (§7.3 steps 5-11).
  const uint16_t old_sel = tr.selector;
  uint32_t old_flags = static_cast<uint32_t>(st.rflags);
  if (how == TaskEntry::kIret) old_flags &= ~static_cast<uint32_t>(rflags::kNT);
  if (how == TaskEntry::kJmp || how == TaskEntry::kIret) set_busy(*this, old_sel, false);
  save_image(*this, tr.base, tr.type, static_cast<uint32_t>(old_eip), old_flags);
  if (how != TaskEntry::kIret) set_busy(*this, sel, true);
  const bool nest = how == TaskEntry::kCall || how == TaskEntry::kEvent;
  if (nest) write_sys(base, 2, old_sel);
  set_descriptor_cache(tr, sel, desc | (2ull << 40));
  st.cr0 |= cr0::kTS;

  // The incoming task: registers first, so that faults below happen in its context.
  if ((type & 8) && (st.cr0 & cr0::kPG)) write_cr3(in.cr3);
  uint64_t flags = in.eflags;
  if (type & 8) {
    flags &= 0x3f7fd5;  // the architectural bits (SDM Vol. 1 §3.4.3)
    for (unsigned i = 0; i < 8; ++i) st.gpr[i] = in.gpr[i];
  } else {
    // A 16-bit TSS has FLAGS and the low halves of the registers only: the upper halves
    // stay as they were (the SDM leaves them unspecified), VM/RF/VIF/VIP become 0.
    flags = (flags & 0x7fd5) | (st.rflags & (rflags::kAC | rflags::kID));
    for (unsigned i = 0; i < 8; ++i) st.gpr[i] = (st.gpr[i] & 0xffff0000u) | in.gpr[i];
  }
  if (nest) flags |= rflags::kNT;
  st.rflags = flags | rflags::kReserved1;
  st.rip = next_rip = in.eip;
  end_block = true;
  // Every selector first, so that a fault below shows the new task's selectors to its
  // handler (§7.3 step 13); their caches keep the old contents until the checked loads.
  for (unsigned i = 0; i < layout.nsegs; ++i) st.seg[i].selector = in.seg[i];
  load_task_ldt(*this, in.ldt, ext);
  if (st.rflags & rflags::kVM) {
    for (int i = 0; i < 6; ++i) load_real_segment(i, in.seg[i]);  // only a 32-bit TSS has VM
  } else {
    load_task_segment(*this, kCs, in.seg[kCs], ext);
    load_task_segment(*this, kSs, in.seg[kSs], ext);
    for (int i : {kEs, kDs, kFs, kGs})
      if (i < static_cast<int>(layout.nsegs)) load_task_segment(*this, i, in.seg[i], ext);
  }
  if (in.eip > st.seg[kCs].limit) raise(vec::kGP, ext);
  return in.trap;
}

}  // namespace vessel::engine::emu
