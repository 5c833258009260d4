// Shared helpers for the SSE/SSE2 handler files (sse_move.cpp, sse_float.cpp, sse_int.cpp):
// the availability checks (#UD/#NM, SDM Vol. 1 §13.1 and Vol. 3A §2.5), XMM register and
// memory operands (16-byte alignment #GP for the aligned forms, SDM Vol. 1 §10.4.1.1), and the
// MXCSR discipline for floating-point work.
//
// Floating-point results come from the host's own SSE instructions (SSE2 is part of x86-64),
// run with the guest's MXCSR rounding/DAZ/FTZ bits loaded into the host MXCSR and every
// exception masked; the exception flags the host raised are merged into the guest MXCSR and an
// unmasked one becomes #XM (CR4.OSXMMEXCPT = 1) or #UD (SDM Vol. 1 §11.5.2). A faulting
// instruction writes no destination. MMX-register forms are in mmx.cpp.
#pragma once

#include <emmintrin.h>

#include <cstring>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {

void register_sse_move(HandlerTable& t);
void register_sse_float(HandlerTable& t);
void register_sse_int(HandlerTable& t);
void register_x87(HandlerTable& t);
void register_fxsave(HandlerTable& t);

namespace mxcsr {
inline constexpr uint32_t kFlags = 0x3f, kMasks = 0x1f80, kRcShift = 13;
// Writable bits: flags, DAZ, masks, RC, FZ (the MXCSR_MASK FXSAVE reports).
inline constexpr uint32_t kValidMask = 0xffff;
}  // namespace mxcsr

// #UD when SSE is off (CR0.EM = 1 or CR4.OSFXSR = 0), else #NM when CR0.TS = 1.
[[noreturn]] void sse_unavailable(const Cpu& c);
inline void check_sse(const Cpu& c) {
  if ((c.st.cr0 & (arch::cr0::kEM | arch::cr0::kTS)) || !(c.st.cr4 & arch::cr4::kOSFXSR))
      [[unlikely]]
    sse_unavailable(c);
}

inline __m128i get_xmm(const Cpu& c, uint8_t reg) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(c.st.fpu.xmm[reg & 15].data()));
}
inline void set_xmm(Cpu& c, uint8_t reg, __m128i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(c.st.fpu.xmm[reg & 15].data()), v);
}
inline uint64_t lane64(__m128i v, int i) {
  uint64_t q[2];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), v);
  return q[i];
}
inline __m128i make128(uint64_t lo, uint64_t hi) {
  return _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo));
}

// Operand i must be an XMM register (#UD otherwise).
inline uint8_t xmm_reg(const DecodedInst& in, int i) {
  if (in.ops[i].kind != OpKind::kXmm) [[unlikely]]
    raise(vec::kUD);
  return in.ops[i].reg;
}

// Linear address of a memory operand, with the 16-byte alignment check when `aligned`.
inline uint64_t mem_la(Cpu& c, const DecodedInst& in, const Operand& op, unsigned size, Access acc,
                       bool aligned) {
  const uint64_t la = c.linear(op.seg, effective_address(c, in, op), size, acc);
  if (aligned && (la & 15)) raise(vec::kGP, 0);
  return la;
}
inline __m128i read_m128_la(Cpu& c, uint64_t la) {
  const bool user = c.cpl() == 3;
  if ((la & 0xfff) > 0xff0) c.translate(la + 15, Access::kRead, user);  // fault as a whole
  const uint64_t lo = c.read_la<uint64_t>(la, user);
  return make128(lo, c.read_la<uint64_t>(la + 8, user));
}
inline void write_m128_la(Cpu& c, uint64_t la, __m128i v) {
  const bool user = c.cpl() == 3;
  if ((la & 0xfff) > 0xff0) {  // both pages must be writable before either half is stored
    c.translate(la, Access::kWrite, user);
    c.translate(la + 15, Access::kWrite, user);
  }
  c.write_la<uint64_t>(la, lane64(v, 0), user);
  c.write_la<uint64_t>(la + 8, lane64(v, 1), user);
}

// Source operand i as a vector: an XMM register, or memory of the operand's size (16 bytes,
// aligned unless `aligned` is false; 8/4/2 bytes zero-extended into the low lane).
inline __m128i src_vec(Cpu& c, const DecodedInst& in, int i, bool aligned = true) {
  const Operand& op = in.ops[i];
  if (op.kind == OpKind::kXmm) return get_xmm(c, op.reg);
  if (op.kind != OpKind::kMem) raise(vec::kUD);
  if (op.size == 16) return read_m128_la(c, mem_la(c, in, op, 16, Access::kRead, aligned));
  return make128(read_op(c, in, i), 0);
}

// Stores v to destination operand 0 (XMM register, or 16 bytes of memory).
inline void store_vec(Cpu& c, const DecodedInst& in, __m128i v, bool aligned = true) {
  const Operand& op = in.ops[0];
  if (op.kind == OpKind::kXmm) return set_xmm(c, op.reg, v);
  if (op.kind != OpKind::kMem) raise(vec::kUD);
  write_m128_la(c, mem_la(c, in, op, 16, Access::kWrite, aligned), v);
}

// Keeps the compiler from moving a computation across the MXCSR switch.
inline void opaque(__m128i& v) {
  asm volatile("" : "+x"(v));
}

[[noreturn]] void simd_fault(Cpu& c);

// Runs f(a, b) on the host with the guest's MXCSR control bits; merges the exception flags it
// raised into the guest MXCSR and faults on an unmasked one (without writing a destination).
template <class F>
inline __m128i fp_run(Cpu& c, __m128i a, __m128i b, F f) {
  const uint32_t host = _mm_getcsr();
  const uint32_t guest = c.st.fpu.mxcsr;
  _mm_setcsr((guest & ~mxcsr::kFlags) | mxcsr::kMasks);
  opaque(a);
  opaque(b);
  __m128i r = f(a, b);
  opaque(r);
  const uint32_t raised = _mm_getcsr() & mxcsr::kFlags;
  _mm_setcsr(host);
  if (raised) {
    c.st.fpu.mxcsr = guest | raised;
    if (raised & ~(guest >> 7) & mxcsr::kFlags) simd_fault(c);
  }
  return r;
}

inline __m128 ps(__m128i v) {
  return _mm_castsi128_ps(v);
}
inline __m128d pd(__m128i v) {
  return _mm_castsi128_pd(v);
}
inline __m128i pi(__m128 v) {
  return _mm_castps_si128(v);
}
inline __m128i pi(__m128d v) {
  return _mm_castpd_si128(v);
}

}  // namespace vessel::engine::emu::interp
