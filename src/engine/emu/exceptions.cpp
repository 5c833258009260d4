// Exception and interrupt delivery (SDM Vol. 3A ch. 6): the real-mode IVT (§20.1.4), 32-bit
// IDT gates with the stack switch from the TSS (§6.12.1), and the 64-bit IDT with IST
// (§6.14). Task gates switch tasks (task_switch.cpp); an event in virtual-8086 mode goes to a
// ring-0 handler with the v86 segment registers on its stack (§20.3.1.1).
//
// RF in the EFLAGS image pushed (or saved by a task gate), SDM Vol. 3B §17.3.1.1: 1 for a
// fault, so that the IRET back to the faulting instruction does not take its instruction
// breakpoint again; 1 for any event taken between two iterations of a REP string instruction
// (it restarts); otherwise as it is. #DB is never a fault here (its instruction-breakpoint and
// general-detect faults leave RF as it is; a handler that wants to go on sets RF itself), nor
// is #DF (an abort).
#include <fmt/format.h>
#include <utility>

#include "engine/emu/cpu.hpp"

namespace vessel::engine::emu {

using namespace arch;

namespace {
struct Saved {
  Segment cs, ss;
  uint64_t rsp, rflags;
};
}  // namespace

Cpu::InnerStack Cpu::legacy_inner_stack(unsigned new_cpl, uint32_t ext) {
  const Segment& tr = st.seg[kTr];
  // ESPn/SSn at 4 + 8n in a 32-bit TSS, SPn/SSn at 2 + 4n in a 16-bit one (types 1 and 3).
  const bool tss32 = tr.type & 8;
  const unsigned sp_size = tss32 ? 4 : 2;
  const uint64_t off = tss32 ? 4 + 8 * new_cpl : 2 + 4 * new_cpl;
  if (off + sp_size + 1 > tr.limit) raise(vec::kTS, (tr.selector & 0xfffc) + ext);
  InnerStack in{};
  in.esp = static_cast<uint32_t>(read_sys(tr.base + off, sp_size));
  in.ss = static_cast<uint16_t>(read_sys(tr.base + off + sp_size, 2));
  const uint32_t err = (in.ss & 0xfffc) + ext;
  if ((in.ss & 0xfffc) == 0 || (in.ss & 3) != new_cpl) raise(vec::kTS, err);
  in.ss_desc = read_descriptor(in.ss, vec::kTS);
  const bool writable_data = ((in.ss_desc >> 43) & 3) == 2 && ((in.ss_desc >> 41) & 1);
  if (!writable_data || ((in.ss_desc >> 45) & 3) != new_cpl) raise(vec::kTS, err);
  if (!((in.ss_desc >> 47) & 1)) raise(vec::kSS, err);
  return in;
}

void Cpu::raise_interrupt_sw(uint8_t vector) {
  deliver(vector, false, 0, true, next_rip);
  next_rip = st.rip;  // delivery set RIP to the handler
  end_block = true;
}

void Cpu::deliver(uint8_t vector, bool has_error, uint32_t error, bool software, uint64_t ret_rip,
                  bool fault) {
  const uint32_t ext = software ? 0 : 1;
  const bool rf_fault = fault && vector != vec::kDB && vector != vec::kDF;
  const bool set_rf = std::exchange(rep_resume, false) || rf_fault;
  const uint32_t idt_err = uint32_t{vector} * 8 + 2 + ext;
  st.events.halted = false;
  ++deliveries_;
  if (!protected_mode()) {  // real mode: the IVT (4-byte far pointers)
    if (uint32_t{vector} * 4 + 3 > st.idt.limit) raise(vec::kGP, idt_err);
    const uint64_t entry = read_sys(st.idt.base + vector * 4u, 4);
    push(st.rflags & 0xffff, 2);
    push(st.seg[kCs].selector, 2);
    push(ret_rip & 0xffff, 2);
    st.rflags &= ~(rflags::kIF | rflags::kTF | rflags::kAC | rflags::kRF);
    load_real_segment(kCs, static_cast<uint16_t>(entry >> 16));
    st.rip = entry & 0xffff;
    end_block = true;
    return;
  }
  const bool lm = long_mode();
  const unsigned entry_size = lm ? 16 : 8;
  if (uint32_t{vector} * entry_size + entry_size - 1 > st.idt.limit) raise(vec::kGP, idt_err);
  const uint64_t lo = read_sys(st.idt.base + vector * entry_size, 8);
  const uint64_t hi = lm ? read_sys(st.idt.base + vector * entry_size + 8, 8) : 0;
  const unsigned type = (lo >> 40) & 0xf, gate_dpl = (lo >> 45) & 3;
  const bool present = (lo >> 47) & 1;
  const bool valid_type = lm ? (type == 0xe || type == 0xf)
                             : (type == 0x6 || type == 0x7 || type == 0xe || type == 0xf);
  if (!valid_type && !(!lm && type == 0x5)) raise(vec::kGP, idt_err);
  if (software && gate_dpl < cpl()) raise(vec::kGP, idt_err);
  if (!present) raise(vec::kNP, idt_err);
  if (type == 0x5) {
    const uint64_t flags = st.rflags;
    const uint16_t old_tr = st.seg[kTr].selector;
    if (set_rf) st.rflags |= rflags::kRF;  // the EFLAGS saved in the old TSS
    try {
      task_gate_event(lo, has_error, error, ext, ret_rip);
    } catch (const GuestFault&) {
      if (st.seg[kTr].selector == old_tr) st.rflags = flags;  // the switch did not commit
      throw;
    }
    return;
  }
  const uint16_t sel = static_cast<uint16_t>(lo >> 16);
  uint64_t offset = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull);
  if (lm) offset |= hi << 32;
  if (!lm && !(type & 8)) offset &= 0xffff;  // 16-bit gate
  if ((sel & 0xfffc) == 0) raise(vec::kGP, ext);
  const uint64_t desc = read_descriptor(sel, vec::kGP);
  const unsigned dpl = (desc >> 45) & 3;
  const bool code = ((desc >> 43) & 3) == 3;  // S=1 and executable
  const bool conforming = (desc >> 42) & 1;
  if (!code || dpl > cpl()) raise(vec::kGP, (sel & 0xfffc) + ext);
  if (!((desc >> 47) & 1)) raise(vec::kNP, (sel & 0xfffc) + ext);
  if (lm && (!((desc >> 53) & 1) || ((desc >> 54) & 1))) raise(vec::kGP, (sel & 0xfffc) + ext);
  const bool from_v86 = st.rflags & rflags::kVM;  // only a ring-0 handler may take it
  if (from_v86 && (conforming || dpl != 0)) raise(vec::kGP, (sel & 0xfffc) + ext);
  const unsigned old_cpl = cpl();
  const unsigned new_cpl = conforming ? old_cpl : dpl;
  const unsigned ist = lm ? (lo >> 32) & 7 : 0;
  const unsigned width = lm ? 8 : (type & 8) ? 4 : 2;

  const Saved saved{st.seg[kCs], st.seg[kSs], st.gpr[kRsp], st.rflags};
  const uint64_t old_ss = st.seg[kSs].selector, old_rsp = st.gpr[kRsp];
  const uint64_t old_flags = st.rflags | (set_rf ? rflags::kRF : 0);
  const bool switch_stack = new_cpl < old_cpl || ist != 0;
  try {
    st.rflags &= ~rflags::kVM;  // the pushes are ring-0 (supervisor, limit-checked) accesses
    if (switch_stack) {
      if (st.seg[kTr].unusable || !st.seg[kTr].present)
        raise(vec::kTS, (st.seg[kTr].selector & 0xfffc) + ext);
      const uint64_t tss = st.seg[kTr].base;
      if (lm) {
        const uint64_t off = ist ? 0x24 + 8 * (ist - 1) : 4 + 8 * new_cpl;
        if (off + 7 > st.seg[kTr].limit) raise(vec::kTS, (st.seg[kTr].selector & 0xfffc) + ext);
        const uint64_t rsp = read_sys(tss + off, 8);
        if (new_cpl < old_cpl) {  // SS becomes a null selector with RPL = new CPL (§6.14.4)
          st.seg[kSs] = Segment{};
          st.seg[kSs].selector = static_cast<uint16_t>(new_cpl);
          st.seg[kSs].unusable = true;
          st.seg[kSs].dpl = static_cast<uint8_t>(new_cpl);
        }
        st.gpr[kRsp] = rsp & ~0xfull;
      } else {
        const InnerStack inner = legacy_inner_stack(new_cpl, ext);
        set_descriptor_cache(st.seg[kSs], inner.ss, inner.ss_desc);
        st.gpr[kRsp] = inner.esp;
      }
    } else if (lm) {
      st.gpr[kRsp] &= ~0xfull;  // 64-bit delivery aligns RSP even without a switch
    }
    set_descriptor_cache(st.seg[kCs], static_cast<uint16_t>((sel & ~3) | new_cpl), desc);
    if (from_v86) {
      for (int seg : {kGs, kFs, kDs, kEs}) push(st.seg[seg].selector, width);
    }
    if (lm || switch_stack) {
      push(old_ss, width);
      push(old_rsp, width);
    }
    push(old_flags, width);
    push(saved.cs.selector, width);
    push(ret_rip, width);
    if (has_error) push(error, width);
  } catch (const GuestFault&) {
    st.seg[kCs] = saved.cs;
    st.seg[kSs] = saved.ss;
    st.gpr[kRsp] = saved.rsp;
    st.rflags = saved.rflags;
    throw;
  }
  st.rflags &= ~(rflags::kTF | rflags::kNT | rflags::kRF | rflags::kVM);
  if (from_v86) {  // the handler starts with null data segments
    for (int seg : {kEs, kDs, kFs, kGs}) {
      st.seg[seg] = Segment{};
      st.seg[seg].unusable = true;
    }
  }
  if (!(type & 1)) st.rflags &= ~rflags::kIF;  // interrupt gate (trap gates leave IF)
  st.rip = offset;
  end_block = true;
}

}  // namespace vessel::engine::emu
