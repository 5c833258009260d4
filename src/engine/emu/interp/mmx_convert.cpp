// The SSE/SSE2 forms that take MMX operands besides the integer ones in mmx.cpp (SDM Vol. 2A
// CVTPI2PS, CVTPS2PI, CVTTPS2PI, CVTPI2PD, CVTPD2PI, CVTTPD2PI; Vol. 2B MASKMOVQ).
//
// They are SSE instructions first (#UD without CR4.OSFXSR, #NM with CR0.TS, MXCSR rounding and
// #XM), and MMX instructions where an MM register is named: a pending x87 exception is taken
// first (#MF) and the x87 unit enters MMX state. The memory-source forms of CVTPI2PS/CVTPI2PD
// run as plain SSE instructions (no #MF, no state change), as the SDM describes.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/mmx.hpp"

namespace vessel::engine::emu::interp::mmx {
namespace {

using namespace arch;

// The MM register or m64 source of CVTPI2PS/CVTPI2PD; true in `from_mm` for the register form.
uint64_t pi_source(Cpu& c, const DecodedInst& in, bool& from_mm) {
  from_mm = in.ops[1].kind == OpKind::kMmx;
  if (from_mm) {
    check(c);
    return get(c, in.ops[1].reg);
  }
  return read_op(c, in, 1);
}

// CVTPI2PS xmm, mm/m64: two int32 to the low two floats (MXCSR rounding); the high two stay.
void CVTPI2PS(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  bool from_mm;
  const __m128i src = make128(pi_source(c, in, from_mm), 0);
  const uint8_t d = xmm_reg(in, 0);
  const __m128i old = get_xmm(c, d);
  const __m128i r = fp_run(c, src, src, [](__m128i, __m128i s) { return pi(_mm_cvtepi32_ps(s)); });
  if (from_mm) commit(c);
  set_xmm(c, d, make128(lane64(r, 0), lane64(old, 1)));
}

// CVTPI2PD xmm, mm/m64: two int32 to two doubles (always exact).
void CVTPI2PD(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  bool from_mm;
  const __m128i src = make128(pi_source(c, in, from_mm), 0);
  const uint8_t d = xmm_reg(in, 0);
  if (from_mm) commit(c);
  set_xmm(c, d, pi(_mm_cvtepi32_pd(src)));
}

// CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128 (aligned): to two int32, out of range
// giving the integer indefinite value 0x80000000.
template <bool kDouble, bool kTruncate>
void CVT2PI(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  check(c);
  const __m128i src = src_vec(c, in, 1);
  const __m128i r = fp_run(c, src, src, [](__m128i, __m128i s) {
    if constexpr (kDouble)
      return kTruncate ? _mm_cvttpd_epi32(pd(s)) : _mm_cvtpd_epi32(pd(s));
    else
      return kTruncate ? _mm_cvttps_epi32(ps(s)) : _mm_cvtps_epi32(ps(s));
  });
  commit(c, in.ops[0].reg, lane64(r, 0));
}

// MASKMOVQ mm1, mm2: the bytes of mm1 whose mask byte in mm2 has bit 7 set go to DS:rDI
// (segment override allowed), one byte at a time as on hardware (a fault leaves the earlier
// bytes written).
void MASKMOVQ(Cpu& c, const DecodedInst& in) {
  check(c);
  if (in.ops[0].kind != OpKind::kMmx || in.ops[1].kind != OpKind::kMmx) raise(vec::kUD);
  const uint64_t v = get(c, in.ops[0].reg), m = get(c, in.ops[1].reg);
  const int seg = in.seg_override != x86::kNoReg ? int{in.seg_override} : int{kDs};
  const uint64_t amask = size_mask(in.addrsize), base = c.st.gpr[kRdi] & amask;
  for (unsigned i = 0; i < 8; ++i)
    if ((m >> (8 * i + 7)) & 1) c.write(seg, (base + i) & amask, 1, (v >> (8 * i)) & 0xff);
  commit(c);
}

}  // namespace

void register_convert(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_CVTPI2PS] = CVTPI2PS;
  t[ZYDIS_MNEMONIC_CVTPI2PD] = CVTPI2PD;
  t[ZYDIS_MNEMONIC_CVTPS2PI] = CVT2PI<false, false>;
  t[ZYDIS_MNEMONIC_CVTTPS2PI] = CVT2PI<false, true>;
  t[ZYDIS_MNEMONIC_CVTPD2PI] = CVT2PI<true, false>;
  t[ZYDIS_MNEMONIC_CVTTPD2PI] = CVT2PI<true, true>;
  t[ZYDIS_MNEMONIC_MASKMOVQ] = MASKMOVQ;
}

}  // namespace vessel::engine::emu::interp::mmx
