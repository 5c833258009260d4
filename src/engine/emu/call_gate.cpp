// Far CALL/JMP through a call gate (SDM Vol. 3A §5.8.3-5.8.6; Vol. 2A CALL, JMP pseudo-code):
// 16- and 32-bit gates in legacy protected mode, 64-bit gates (16 bytes) in long mode. A CALL
// to a more privileged non-conforming segment switches to the stack the TSS gives for the new
// CPL (SSn:ESPn of a 32-bit TSS, SSn:SPn of a 16-bit one, RSPn in long mode), pushes the old
// SS:rSP, copies the gate's parameter count of words/dwords from the old stack (legacy gates
// only), then CS:rIP; the far RET to the outer level is Cpu::far_return. Everything that can
// fault is read and checked first; a fault during the pushes restores CS, SS and rSP, so the
// instruction commits nothing.
#include <vector>

#include "engine/emu/cpu.hpp"

namespace vessel::engine::emu {

using namespace arch;

namespace {
struct Target {
  uint16_t selector;
  uint64_t offset;
  uint64_t desc;
  unsigned dpl;
  bool conforming;
};

// The gate's checks and its code-segment target (the CALL/JMP pseudo-code's "call gate" case).
Target gate_target(Cpu& c, uint16_t gate_sel, uint64_t gate, bool is_call) {
  const uint32_t err = gate_sel & 0xfffc;
  const unsigned gate_dpl = (gate >> 45) & 3;
  if (gate_dpl < c.cpl() || gate_dpl < (gate_sel & 3u)) raise(vec::kGP, err);
  if (!((gate >> 47) & 1)) raise(vec::kNP, err);
  Target t{};
  t.selector = static_cast<uint16_t>(gate >> 16);
  t.offset = (gate & 0xffff) | ((gate >> 32) & 0xffff0000ull);
  if (c.long_mode()) {
    const uint64_t hi = c.read_sys(
        ((gate_sel & 4) ? c.st.seg[kLdtr].base : c.st.gdt.base) + (gate_sel & ~7u) + 8, 8);
    if ((hi >> 40) & 0x1f) raise(vec::kGP, err);  // the upper half's type must be 0
    t.offset |= (hi & 0xffffffffull) << 32;
  } else if (((gate >> 40) & 0xf) == 0x4) {
    t.offset &= 0xffff;  // 16-bit gate
  }
  if ((t.selector & 0xfffc) == 0) raise(vec::kGP, 0);
  const uint32_t terr = t.selector & 0xfffc;
  t.desc = c.read_descriptor(t.selector, vec::kGP);
  t.dpl = (t.desc >> 45) & 3;
  t.conforming = (t.desc >> 42) & 1;
  const bool code = ((t.desc >> 43) & 3) == 3;
  if (!code || t.dpl > c.cpl()) raise(vec::kGP, terr);
  if (!is_call && !t.conforming && t.dpl != c.cpl()) raise(vec::kGP, terr);
  if (!((t.desc >> 47) & 1)) raise(vec::kNP, terr);
  if (c.long_mode() && (!((t.desc >> 53) & 1) || ((t.desc >> 54) & 1))) raise(vec::kGP, terr);
  return t;
}
}  // namespace

void Cpu::call_gate(uint16_t gate_sel, uint64_t gate, bool is_call) {
  const Target t = gate_target(*this, gate_sel, gate, is_call);
  const bool lm = long_mode();
  const unsigned width = lm ? 8 : (((gate >> 40) & 0xf) == 0xc ? 4 : 2);
  const unsigned old_cpl = cpl();
  const bool inner = is_call && !t.conforming && t.dpl < old_cpl;
  const unsigned new_cpl = inner ? t.dpl : old_cpl;
  const bool l = lm && ((t.desc >> 53) & 1);
  const Segment saved_cs = st.seg[kCs], saved_ss = st.seg[kSs];
  const uint64_t saved_rsp = st.gpr[kRsp];

  if (!is_call) {
    set_descriptor_cache(st.seg[kCs], static_cast<uint16_t>((t.selector & ~3) | new_cpl),
                         t.desc | (1ull << 40));
    next_rip = l ? t.offset : t.offset & 0xffffffffull;
    end_block = true;
    return;
  }

  // The new stack and the parameters, read before anything changes.
  uint64_t new_rsp = 0;
  uint16_t new_ss = 0;
  uint64_t ss_desc = 0;
  std::vector<uint64_t> params;
  if (inner) {
    if (st.seg[kTr].unusable || !st.seg[kTr].present)
      raise(vec::kTS, st.seg[kTr].selector & 0xfffc);
    if (lm) {
      const uint64_t off = 4 + 8 * new_cpl;
      if (off + 7 > st.seg[kTr].limit) raise(vec::kTS, st.seg[kTr].selector & 0xfffc);
      new_rsp = read_sys(st.seg[kTr].base + off, 8);
      new_ss = static_cast<uint16_t>(new_cpl);  // a null SS with RPL = new CPL (§5.8.6)
    } else {
      const InnerStack in = legacy_inner_stack(new_cpl, 0);  // a 16- or 32-bit TSS
      new_rsp = in.esp;
      new_ss = in.ss;
      ss_desc = in.ss_desc;
      const unsigned count = (gate >> 32) & 0x1f;
      const uint64_t sp = rsp_masked();
      const uint64_t wrap = stack_size() == 2 ? 0xffff : 0xffffffff;
      for (unsigned i = 0; i < count; ++i)
        params.push_back(read(kSs, (sp + i * width) & wrap, width));
    }
  }

  try {
    if (inner) {
      if (lm) {
        st.seg[kSs] = Segment{};
        st.seg[kSs].selector = new_ss;
        st.seg[kSs].unusable = true;
        st.seg[kSs].dpl = static_cast<uint8_t>(new_cpl);
        st.gpr[kRsp] = new_rsp;
      } else {
        set_descriptor_cache(st.seg[kSs], new_ss, ss_desc);
        st.gpr[kRsp] = new_rsp;
      }
      // Pushes run at the new CPL (the stack is the inner one).
      set_descriptor_cache(st.seg[kCs], static_cast<uint16_t>((t.selector & ~3) | new_cpl),
                           t.desc | (1ull << 40));
      push(saved_ss.selector, width);
      push(saved_rsp, width);
      for (size_t i = params.size(); i-- > 0;) push(params[i], width);
    } else {
      set_descriptor_cache(st.seg[kCs], static_cast<uint16_t>((t.selector & ~3) | new_cpl),
                           t.desc | (1ull << 40));
    }
    push(saved_cs.selector, width);
    push(next_rip, width);
  } catch (const GuestFault&) {
    st.seg[kCs] = saved_cs;
    st.seg[kSs] = saved_ss;
    st.gpr[kRsp] = saved_rsp;
    throw;
  }
  next_rip = l ? t.offset : t.offset & 0xffffffffull;
  end_block = true;
}

}  // namespace vessel::engine::emu
