// String instructions with REP/REPE/REPNE (SDM Vol. 1 §7.3.9; Vol. 2 MOVS, STOS, LODS, CMPS,
// SCAS, INS, OUTS). A REP instruction runs at most kChunk iterations per step and then
// restarts itself (RIP unchanged, RCX/RSI/RDI at the next iteration), so interrupts and
// request_stop() are seen during long copies, as on hardware (SDM Vol. 2B REP: "interrupted
// ... resumes"). While debugging it stops after any iteration that traps: each one under TF,
// the one that hit a data breakpoint (SDM Vol. 3B §17.3.1.2, §17.3.1.4).
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"
#include "engine/emu/interp/string_bulk.hpp"
#include "engine/emu/interp/string_io.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

constexpr uint64_t kChunk = 4096;

unsigned elem_size(const DecodedInst& in) {
  return (in.opcode & 1) ? in.opsize : 1;
}
int src_seg(const DecodedInst& in) {
  return in.seg_override != x86::kNoReg ? int{in.seg_override} : int{kDs};
}

struct StrRegs {
  uint64_t amask;
  int64_t step;
};
StrRegs regs(const Cpu& c, const DecodedInst& in, unsigned size) {
  return {size_mask(in.addrsize), (c.st.rflags & rflags::kDF) ? -int64_t(size) : int64_t(size)};
}
void advance(Cpu& c, int reg, const StrRegs& r, const DecodedInst& in) {
  set_gpr(c, static_cast<uint8_t>(reg), in.addrsize,
          (c.st.gpr[reg] + static_cast<uint64_t>(r.step)) & r.amask);
}

// Runs `body` once or under REP; `body` returns false to stop a REPE/REPNE loop. `bulk(max)`
// may run up to `max` iterations at once (string_bulk.hpp) and returns how many it ran (0: run
// `body` once); it is not used while a debug trap may have to come between iterations.
template <class F, class B>
void repeat(Cpu& c, const DecodedInst& in, F&& body, B&& bulk) {
  if (!(in.prefixes & (x86::prefix::kRep | x86::prefix::kRepne))) {
    body();
    return;
  }
  c.rep_resume = false;  // set again below if this step does not finish
  const uint64_t amask = size_mask(in.addrsize);
  const bool bulk_ok = !c.debug_active();
  for (uint64_t n = 0; n < kChunk;) {
    const uint64_t rcx = c.st.gpr[kRcx] & amask;
    if (rcx == 0) return;
    uint64_t done = bulk_ok ? bulk(std::min(rcx, kChunk - n)) : 0;
    bool go_on = true;
    if (done == 0) {
      go_on = body();
      done = 1;
    }
    set_gpr(c, kRcx, in.addrsize, (rcx - done) & amask);
    n += done;
    if (!go_on) return;
    if (c.rep_iteration_traps()) break;  // the #DB comes between iterations
  }
  if ((c.st.gpr[kRcx] & amask) != 0) {
    c.next_rip = c.st.rip;  // not finished: run the same instruction again
    c.end_block = true;
    c.rep_resume = true;
  }
}
template <class F>
void repeat(Cpu& c, const DecodedInst& in, F&& body) {
  repeat(c, in, body, [](uint64_t) { return uint64_t{0}; });
}

void MOVS(Cpu& c, const DecodedInst& in) {
  if (in.opcode_map != 0) raise(vec::kUD);  // the SSE MOVSD shares the mnemonic
  const unsigned size = elem_size(in);
  const StrRegs r = regs(c, in, size);
  const int seg = src_seg(in);
  repeat(
      c, in,
      [&] {
        const uint64_t v = c.read(seg, c.st.gpr[kRsi] & r.amask, size);
        c.write(kEs, c.st.gpr[kRdi] & r.amask, size, v);
        advance(c, kRsi, r, in);
        advance(c, kRdi, r, in);
        return true;
      },
      [&](uint64_t max) { return movs_bulk(c, in, seg, size, max); });
}

void STOS(Cpu& c, const DecodedInst& in) {
  const unsigned size = elem_size(in);
  const StrRegs r = regs(c, in, size);
  const uint64_t v = get_gpr(c, kRax, size);
  repeat(
      c, in,
      [&] {
        c.write(kEs, c.st.gpr[kRdi] & r.amask, size, v);
        advance(c, kRdi, r, in);
        return true;
      },
      [&](uint64_t max) {
        if (const uint64_t n = stos_bulk(c, in, size, v, max)) return n;
        if (max < 64) return uint64_t{0};
        // Not in the TLB for writing yet (a page's first store): fill it the way the store
        // would (same faults), so even the first element goes in bulk: zeros onto an untouched
        // page are then not written at all (stos_bulk).
        c.probe_write(kEs, c.st.gpr[kRdi] & r.amask, size);
        return stos_bulk(c, in, size, v, max);
      });
}

void LODS(Cpu& c, const DecodedInst& in) {
  const unsigned size = elem_size(in);
  const StrRegs r = regs(c, in, size);
  const int seg = src_seg(in);
  repeat(c, in, [&] {
    set_gpr(c, kRax, size, c.read(seg, c.st.gpr[kRsi] & r.amask, size));
    advance(c, kRsi, r, in);
    return true;
  });
}

uint64_t sub_flags(uint64_t a, uint64_t b, unsigned size, uint64_t fl) {
  if (fresh_flags_ok())
    VESSEL_SIZED(size, f_sub, a, b, fl);
  else
    VESSEL_SIZED(size, h_sub, a, b, fl);
  return fl;
}

void CMPS(Cpu& c, const DecodedInst& in) {
  if (in.opcode_map != 0) raise(vec::kUD);  // the SSE CMPSD shares the mnemonic
  const unsigned size = elem_size(in);
  const StrRegs r = regs(c, in, size);
  const int seg = src_seg(in);
  const bool repne = in.prefixes & x86::prefix::kRepne;
  repeat(c, in, [&] {
    const uint64_t a = c.read(seg, c.st.gpr[kRsi] & r.amask, size);
    const uint64_t b = c.read(kEs, c.st.gpr[kRdi] & r.amask, size);
    flags_out(c, sub_flags(a, b, size, flags_in(c)));
    advance(c, kRsi, r, in);
    advance(c, kRdi, r, in);
    return repne ? !(c.st.rflags & rflags::kZF) : (c.st.rflags & rflags::kZF) != 0;
  });
}

void SCAS(Cpu& c, const DecodedInst& in) {
  const unsigned size = elem_size(in);
  const StrRegs r = regs(c, in, size);
  const bool repne = in.prefixes & x86::prefix::kRepne;
  const uint64_t a = get_gpr(c, kRax, size);
  repeat(c, in, [&] {
    const uint64_t b = c.read(kEs, c.st.gpr[kRdi] & r.amask, size);
    flags_out(c, sub_flags(a, b, size, flags_in(c)));
    advance(c, kRdi, r, in);
    return repne ? !(c.st.rflags & rflags::kZF) : (c.st.rflags & rflags::kZF) != 0;
  });
}

void INS(Cpu& c, const DecodedInst& in) {
  const unsigned size = elem_size(in);
  const uint16_t port = static_cast<uint16_t>(c.st.gpr[kRdx]);
  check_io_permission(c, port, size);
  const StrRegs r = regs(c, in, size);
  repeat(c, in, [&] {
    c.probe_write(kEs, c.st.gpr[kRdi] & r.amask, size);
    c.write(kEs, c.st.gpr[kRdi] & r.amask, size, port_read(c, port, size));
    advance(c, kRdi, r, in);
    return true;
  });
}

void OUTS(Cpu& c, const DecodedInst& in) {
  const unsigned size = elem_size(in);
  const uint16_t port = static_cast<uint16_t>(c.st.gpr[kRdx]);
  check_io_permission(c, port, size);
  const StrRegs r = regs(c, in, size);
  const int seg = src_seg(in);
  repeat(c, in, [&] {
    port_write(c, port, size, c.read(seg, c.st.gpr[kRsi] & r.amask, size));
    advance(c, kRsi, r, in);
    return true;
  });
}

}  // namespace

void register_string(HandlerTable& t) {
  for (int m :
       {ZYDIS_MNEMONIC_MOVSB, ZYDIS_MNEMONIC_MOVSW, ZYDIS_MNEMONIC_MOVSD, ZYDIS_MNEMONIC_MOVSQ})
    t[m] = MOVS;
  for (int m :
       {ZYDIS_MNEMONIC_STOSB, ZYDIS_MNEMONIC_STOSW, ZYDIS_MNEMONIC_STOSD, ZYDIS_MNEMONIC_STOSQ})
    t[m] = STOS;
  for (int m :
       {ZYDIS_MNEMONIC_LODSB, ZYDIS_MNEMONIC_LODSW, ZYDIS_MNEMONIC_LODSD, ZYDIS_MNEMONIC_LODSQ})
    t[m] = LODS;
  for (int m :
       {ZYDIS_MNEMONIC_CMPSB, ZYDIS_MNEMONIC_CMPSW, ZYDIS_MNEMONIC_CMPSD, ZYDIS_MNEMONIC_CMPSQ})
    t[m] = CMPS;
  for (int m :
       {ZYDIS_MNEMONIC_SCASB, ZYDIS_MNEMONIC_SCASW, ZYDIS_MNEMONIC_SCASD, ZYDIS_MNEMONIC_SCASQ})
    t[m] = SCAS;
  for (int m : {ZYDIS_MNEMONIC_INSB, ZYDIS_MNEMONIC_INSW, ZYDIS_MNEMONIC_INSD}) t[m] = INS;
  for (int m : {ZYDIS_MNEMONIC_OUTSB, ZYDIS_MNEMONIC_OUTSW, ZYDIS_MNEMONIC_OUTSD}) t[m] = OUTS;
}

}  // namespace vessel::engine::emu::interp
