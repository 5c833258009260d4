// The x87 register stack on arch::FpuState (SDM Vol. 1 §8.1): fpu.st[i] holds ST(i) (stack
// order, the FXSAVE layout), FSW.TOP says which physical register ST(0) is, and the abridged
// tag word has one "valid" bit per physical register. Values are the host's 80-bit
// `long double`; arithmetic runs on the host x87 under the guest's control word (precision and
// rounding, every exception masked), and the exception flags it raises are merged into FSW.
//
// Not modelled: FIP/FDP/FOP updates. Unmasked exceptions set FSW.ES and B, and the next waiting
// instruction raises #MF (check_fpu).
#pragma once

#include <cstring>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp::x87 {

namespace sw {
inline constexpr uint16_t kIE = 1, kDE = 2, kZE = 4, kOE = 8, kUE = 16, kPE = 32, kSF = 64,
                          kES = 128, kC0 = 1 << 8, kC1 = 1 << 9, kC2 = 1 << 10, kC3 = 1 << 14,
                          kB = 1 << 15, kTopShift = 11, kTop = 7 << 11;
}

// #NM when CR0.EM or CR0.TS is set (SDM Vol. 3A §2.5, Table 2-2): the check of the
// non-waiting instructions (FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FXSAVE, FXRSTOR).
inline void check_fpu_nowait(const Cpu& c) {
  if (c.st.cr0 & (arch::cr0::kEM | arch::cr0::kTS)) [[unlikely]]
    raise(vec::kNM);
}
// A pending unmasked exception (FSW.ES, set by the instruction that caused it) is reported
// by the next waiting x87 instruction or FWAIT as #MF when CR0.NE = 1 (SDM Vol. 1 §8.6,
// Vol. 3A §2.5). With NE = 0 a PC reports it through FERR# and IRQ 13, which this machine does
// not wire: the instruction then runs.
inline void check_pending(const Cpu& c) {
  if ((c.st.fpu.fsw & 0x80) && (c.st.cr0 & arch::cr0::kNE)) [[unlikely]]
    raise(vec::kMF);
}
// The check of every waiting x87 instruction.
inline void check_fpu(const Cpu& c) {
  check_fpu_nowait(c);
  check_pending(c);
}

inline unsigned top(const Cpu& c) {
  return (c.st.fpu.fsw >> sw::kTopShift) & 7;
}
inline void set_top(Cpu& c, unsigned t) {
  c.st.fpu.fsw = static_cast<uint16_t>((c.st.fpu.fsw & ~sw::kTop) | ((t & 7) << sw::kTopShift));
}
// Sets TOP keeping every physical register's contents (FNINIT, FLDENV): the stack-order
// slots rotate so that ST(i) names physical register (t + i) mod 8 afterwards.
inline void set_top_keep_physical(Cpu& c, unsigned t) {
  const unsigned shift = (t - top(c)) & 7;
  const auto old = c.st.fpu.st;
  for (unsigned i = 0; i < 8; ++i) c.st.fpu.st[i] = old[(i + shift) & 7];
  set_top(c, t);
}
inline bool valid(const Cpu& c, unsigned i) {
  return c.st.fpu.ftw & (1u << ((top(c) + i) & 7));
}

// Records exception flags (and ES/B for unmasked ones, SDM Vol. 1 §8.1.3.1).
inline void signal(Cpu& c, uint16_t flags) {
  c.st.fpu.fsw |= flags;
  if (flags & ~c.st.fpu.fcw & 0x3f) c.st.fpu.fsw |= sw::kES | sw::kB;
}

inline long double load80(const uint8_t* p) {
  long double v = 0;
  std::memcpy(&v, p, 10);
  return v;
}
inline void store80(uint8_t* p, long double v) {
  std::memset(p, 0, 16);
  std::memcpy(p, &v, 10);
}
// The QNaN "real indefinite" (SDM Vol. 1 §4.8.3.7).
inline long double indefinite() {
  const uint8_t b[10] = {0, 0, 0, 0, 0, 0, 0, 0xc0, 0xff, 0xff};
  return load80(b);
}

// ST(i); an empty register is a stack underflow: IE|SF with C1 = 0, value = indefinite.
inline long double get(Cpu& c, unsigned i) {
  if (!valid(c, i)) [[unlikely]] {
    c.st.fpu.fsw &= ~sw::kC1;
    signal(c, sw::kIE | sw::kSF);
    return indefinite();
  }
  return load80(c.st.fpu.st[i & 7].data());
}
inline void set(Cpu& c, unsigned i, long double v) {
  store80(c.st.fpu.st[i & 7].data(), v);
  c.st.fpu.ftw |= static_cast<uint8_t>(1u << ((top(c) + i) & 7));
}
inline void push(Cpu& c, long double v) {
  auto& s = c.st.fpu.st;
  const unsigned t = (top(c) - 1) & 7;
  if (c.st.fpu.ftw & (1u << t)) {  // overflow: IE|SF with C1 = 1 (SDM Vol. 1 §8.5.1.1)
    c.st.fpu.fsw |= sw::kC1;
    signal(c, sw::kIE | sw::kSF);
    v = indefinite();
  }
  std::memmove(&s[1], &s[0], sizeof(s[0]) * 7);
  set_top(c, t);
  set(c, 0, v);
}
inline void pop(Cpu& c) {
  auto& s = c.st.fpu.st;
  const unsigned t = top(c);
  c.st.fpu.ftw &= static_cast<uint8_t>(~(1u << t));
  const auto old = s[0];
  std::memmove(&s[0], &s[1], sizeof(s[0]) * 7);
  s[7] = old;
  set_top(c, t + 1);
}

template <class T>
inline void hide(T& v) {
  asm volatile("" : "+m"(v));
}

// Runs f() on the host x87 with the guest's precision and rounding control, all exceptions
// masked, and merges the exception flags it raised into the guest FSW.
template <class F>
inline auto host_run(Cpu& c, F f) {
  uint16_t host_cw;
  asm volatile("fnstcw %0" : "=m"(host_cw));
  const uint16_t cw = c.st.fpu.fcw | 0x3f;
  asm volatile("fnclex\n\tfldcw %0" : : "m"(cw));
  auto r = f();
  hide(r);
  uint16_t status;
  asm volatile("fnstsw %0" : "=m"(status));
  asm volatile("fnclex\n\tfldcw %0" : : "m"(host_cw));
  if (status & 0x3f) signal(c, status & 0x3f);
  return r;
}

// The memory operand of an x87 instruction (its only explicit kMem operand), or -1.
inline int mem_index(const DecodedInst& in) {
  for (int i = 0; i < in.num_operands; ++i)
    if (in.ops[i].kind == OpKind::kMem) return i;
  return -1;
}
inline uint64_t mem_offset(Cpu& c, const DecodedInst& in) {
  const int i = mem_index(in);
  if (i < 0) raise(vec::kUD);
  return effective_address(c, in, in.ops[i]);
}
inline int mem_seg(const DecodedInst& in) {
  return in.ops[mem_index(in)].seg;
}
inline bool is_reg_form(const DecodedInst& in) {
  return (in.modrm >> 6) == 3;
}

}  // namespace vessel::engine::emu::interp::x87
