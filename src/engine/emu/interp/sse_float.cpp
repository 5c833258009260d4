// SSE/SSE2 floating point (SDM Vol. 1 §10.4.2, §11.4.1; Vol. 2 instruction pages): packed and
// scalar ADD/SUB/MUL/DIV/MIN/MAX/SQRT, RCP/RSQRT, CMPccPS/SS/PD/SD, (U)COMISS/SD and the CVT*
// conversions. Every result is the host instruction's own, computed under the guest's MXCSR by
// fp_run (sse_common.hpp), so rounding, DAZ/FTZ, NaN propagation and exception flags match.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/sse_common.hpp"

namespace vessel::engine::emu::interp {

using namespace arch;

namespace {

using Fn = __m128i (*)(__m128i, __m128i);

Handler g_string_cmpsd = nullptr;  // CMPSD (string) shares the SSE mnemonic

// dst = F(dst, src): the common two-operand form.
template <Fn F>
void FP2(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const uint8_t r = xmm_reg(in, 0);
  const __m128i b = src_vec(c, in, 1);
  set_xmm(c, r, fp_run(c, get_xmm(c, r), b, F));
}

#define VESSEL_FP(NAME, EXPR)          \
  __m128i NAME(__m128i a, __m128i b) { \
    (void)a;                           \
    (void)b;                           \
    return EXPR;                       \
  }
#define VESSEL_FP4(OP)                               \
  VESSEL_FP(OP##ps, pi(_mm_##OP##_ps(ps(a), ps(b)))) \
  VESSEL_FP(OP##ss, pi(_mm_##OP##_ss(ps(a), ps(b)))) \
  VESSEL_FP(OP##pd, pi(_mm_##OP##_pd(pd(a), pd(b)))) \
  VESSEL_FP(OP##sd, pi(_mm_##OP##_sd(pd(a), pd(b))))

VESSEL_FP4(add)
VESSEL_FP4(sub)
VESSEL_FP4(mul)
VESSEL_FP4(div)
VESSEL_FP4(min)
VESSEL_FP4(max)
VESSEL_FP(sqrtps, pi(_mm_sqrt_ps(ps(b))))
VESSEL_FP(sqrtss, pi(_mm_move_ss(ps(a), _mm_sqrt_ss(ps(b)))))
VESSEL_FP(sqrtpd, pi(_mm_sqrt_pd(pd(b))))
VESSEL_FP(sqrtsd, pi(_mm_sqrt_sd(pd(a), pd(b))))
VESSEL_FP(rcpps, pi(_mm_rcp_ps(ps(b))))
VESSEL_FP(rcpss, pi(_mm_move_ss(ps(a), _mm_rcp_ss(ps(b)))))
VESSEL_FP(rsqrtps, pi(_mm_rsqrt_ps(ps(b))))
VESSEL_FP(rsqrtss, pi(_mm_move_ss(ps(a), _mm_rsqrt_ss(ps(b)))))
// Conversions between vector formats (SDM Vol. 1 §11.4.1.7).
VESSEL_FP(cvtss2sd, pi(_mm_cvtss_sd(pd(a), ps(b))))
VESSEL_FP(cvtsd2ss, pi(_mm_cvtsd_ss(ps(a), pd(b))))
VESSEL_FP(cvtps2pd, pi(_mm_cvtps_pd(ps(b))))
VESSEL_FP(cvtpd2ps, pi(_mm_cvtpd_ps(pd(b))))
VESSEL_FP(cvtdq2ps, pi(_mm_cvtepi32_ps(b)))
VESSEL_FP(cvtps2dq, _mm_cvtps_epi32(ps(b)))
VESSEL_FP(cvttps2dq, _mm_cvttps_epi32(ps(b)))
VESSEL_FP(cvtdq2pd, pi(_mm_cvtepi32_pd(b)))
VESSEL_FP(cvtpd2dq, _mm_cvtpd_epi32(pd(b)))
VESSEL_FP(cvttpd2dq, _mm_cvttpd_epi32(pd(b)))

// CMPccPS/SS/PD/SD: the predicate is imm8[2:0] (SDM Vol. 2A Table 3-7, legacy SSE encoding).
#define VESSEL_CMP(SUFFIX, CAST)                            \
  __m128i cmp##SUFFIX(__m128i a, __m128i b, unsigned p) {   \
    switch (p & 7) {                                        \
      case 0:                                               \
        return pi(_mm_cmpeq_##SUFFIX(CAST(a), CAST(b)));    \
      case 1:                                               \
        return pi(_mm_cmplt_##SUFFIX(CAST(a), CAST(b)));    \
      case 2:                                               \
        return pi(_mm_cmple_##SUFFIX(CAST(a), CAST(b)));    \
      case 3:                                               \
        return pi(_mm_cmpunord_##SUFFIX(CAST(a), CAST(b))); \
      case 4:                                               \
        return pi(_mm_cmpneq_##SUFFIX(CAST(a), CAST(b)));   \
      case 5:                                               \
        return pi(_mm_cmpnlt_##SUFFIX(CAST(a), CAST(b)));   \
      case 6:                                               \
        return pi(_mm_cmpnle_##SUFFIX(CAST(a), CAST(b)));   \
      default:                                              \
        return pi(_mm_cmpord_##SUFFIX(CAST(a), CAST(b)));   \
    }                                                       \
  }
VESSEL_CMP(ps, ps)
VESSEL_CMP(ss, ps)
VESSEL_CMP(pd, pd)
VESSEL_CMP(sd, pd)

template <__m128i (*F)(__m128i, __m128i, unsigned)>
void CMP(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const uint8_t r = xmm_reg(in, 0);
  const __m128i b = src_vec(c, in, 1);
  const unsigned p = static_cast<unsigned>(in.ops[2].value);
  set_xmm(c, r, fp_run(c, get_xmm(c, r), b, [p](__m128i x, __m128i y) { return F(x, y, p); }));
}

void CMPSD(Cpu& c, const DecodedInst& in) {
  if (in.opcode_map == 0) return g_string_cmpsd(c, in);
  CMP<cmpsd>(c, in);
}

// COMISS/UCOMISS/COMISD/UCOMISD: ZF PF CF from the unordered/less/equal relation, OF SF AF
// cleared (SDM Vol. 2A COMISS). COMI* signals invalid on QNaN too, UCOMI* on SNaN only.
template <bool kDouble, bool kOrdered>
void COMI(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const __m128i a = get_xmm(c, xmm_reg(in, 0)), b = src_vec(c, in, 1);
  fp_run(c, a, b, [](__m128i x, __m128i y) {
    int r;
    if constexpr (kDouble)
      r = kOrdered ? _mm_comieq_sd(pd(x), pd(y)) : _mm_ucomieq_sd(pd(x), pd(y));
    else
      r = kOrdered ? _mm_comieq_ss(ps(x), ps(y)) : _mm_ucomieq_ss(ps(x), ps(y));
    return _mm_cvtsi32_si128(r);
  });
  bool unordered, less, equal;
  if constexpr (kDouble) {
    const __m128d x = pd(a), y = pd(b);
    unordered = _mm_cvtsi128_si32(pi(_mm_cmpunord_sd(x, y))) != 0;
    less = _mm_cvtsi128_si32(pi(_mm_cmplt_sd(x, y))) != 0;
    equal = _mm_cvtsi128_si32(pi(_mm_cmpeq_sd(x, y))) != 0;
  } else {
    const __m128 x = ps(a), y = ps(b);
    unordered = _mm_cvtsi128_si32(pi(_mm_cmpunord_ss(x, y))) != 0;
    less = _mm_cvtsi128_si32(pi(_mm_cmplt_ss(x, y))) != 0;
    equal = _mm_cvtsi128_si32(pi(_mm_cmpeq_ss(x, y))) != 0;
  }
  uint64_t fl = 0;
  if (unordered)
    fl = rflags::kZF | rflags::kPF | rflags::kCF;
  else if (less)
    fl = rflags::kCF;
  else if (equal)
    fl = rflags::kZF;
  flags_out(c, fl);
}

// CVTSI2SS/CVTSI2SD xmm, r/m32|64 (rounded per MXCSR.RC).
template <bool kDouble>
void CVTSI2(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const uint8_t r = xmm_reg(in, 0);
  const bool q = in.ops[1].size == 8;
  const __m128i b = make128(read_op(c, in, 1), 0);
  set_xmm(c, r, fp_run(c, get_xmm(c, r), b, [q](__m128i x, __m128i y) {
            const long long v = q ? _mm_cvtsi128_si64(y) : _mm_cvtsi128_si32(y);
            if constexpr (kDouble)
              return pi(q ? _mm_cvtsi64_sd(pd(x), v) : _mm_cvtsi32_sd(pd(x), static_cast<int>(v)));
            else
              return pi(q ? _mm_cvtsi64_ss(ps(x), v) : _mm_cvtsi32_ss(ps(x), static_cast<int>(v)));
          }));
}

// CVT(T)SS2SI / CVT(T)SD2SI r32|64, xmm/m: out of range gives the integer indefinite value.
template <bool kDouble, bool kTruncate>
void CVT2SI(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const bool q = in.ops[0].size == 8;
  const __m128i b = src_vec(c, in, 1);
  const __m128i r = fp_run(c, b, b, [q](__m128i, __m128i y) {
    if constexpr (kDouble) {
      if (q) return _mm_cvtsi64_si128(kTruncate ? _mm_cvttsd_si64(pd(y)) : _mm_cvtsd_si64(pd(y)));
      return _mm_cvtsi32_si128(kTruncate ? _mm_cvttsd_si32(pd(y)) : _mm_cvtsd_si32(pd(y)));
    } else {
      if (q) return _mm_cvtsi64_si128(kTruncate ? _mm_cvttss_si64(ps(y)) : _mm_cvtss_si64(ps(y)));
      return _mm_cvtsi32_si128(kTruncate ? _mm_cvttss_si32(ps(y)) : _mm_cvtss_si32(ps(y)));
    }
  });
  set_gpr(c, in.ops[0].reg, in.ops[0].size, lane64(r, 0));
}

}  // namespace

void register_sse_float(HandlerTable& t) {
  g_string_cmpsd = t[ZYDIS_MNEMONIC_CMPSD];
#define VESSEL_REG4(OP, NAME)                 \
  t[ZYDIS_MNEMONIC_##NAME##PS] = FP2<OP##ps>; \
  t[ZYDIS_MNEMONIC_##NAME##SS] = FP2<OP##ss>; \
  t[ZYDIS_MNEMONIC_##NAME##PD] = FP2<OP##pd>; \
  t[ZYDIS_MNEMONIC_##NAME##SD] = FP2<OP##sd>;
  VESSEL_REG4(add, ADD)
  VESSEL_REG4(sub, SUB)
  VESSEL_REG4(mul, MUL)
  VESSEL_REG4(div, DIV)
  VESSEL_REG4(min, MIN)
  VESSEL_REG4(max, MAX)
  VESSEL_REG4(sqrt, SQRT)
#undef VESSEL_REG4
  t[ZYDIS_MNEMONIC_RCPPS] = FP2<rcpps>;
  t[ZYDIS_MNEMONIC_RCPSS] = FP2<rcpss>;
  t[ZYDIS_MNEMONIC_RSQRTPS] = FP2<rsqrtps>;
  t[ZYDIS_MNEMONIC_RSQRTSS] = FP2<rsqrtss>;
  t[ZYDIS_MNEMONIC_CVTSS2SD] = FP2<cvtss2sd>;
  t[ZYDIS_MNEMONIC_CVTSD2SS] = FP2<cvtsd2ss>;
  t[ZYDIS_MNEMONIC_CVTPS2PD] = FP2<cvtps2pd>;
  t[ZYDIS_MNEMONIC_CVTPD2PS] = FP2<cvtpd2ps>;
  t[ZYDIS_MNEMONIC_CVTDQ2PS] = FP2<cvtdq2ps>;
  t[ZYDIS_MNEMONIC_CVTPS2DQ] = FP2<cvtps2dq>;
  t[ZYDIS_MNEMONIC_CVTTPS2DQ] = FP2<cvttps2dq>;
  t[ZYDIS_MNEMONIC_CVTDQ2PD] = FP2<cvtdq2pd>;
  t[ZYDIS_MNEMONIC_CVTPD2DQ] = FP2<cvtpd2dq>;
  t[ZYDIS_MNEMONIC_CVTTPD2DQ] = FP2<cvttpd2dq>;
  t[ZYDIS_MNEMONIC_CMPPS] = CMP<cmpps>;
  t[ZYDIS_MNEMONIC_CMPSS] = CMP<cmpss>;
  t[ZYDIS_MNEMONIC_CMPPD] = CMP<cmppd>;
  t[ZYDIS_MNEMONIC_CMPSD] = CMPSD;
  t[ZYDIS_MNEMONIC_COMISS] = COMI<false, true>;
  t[ZYDIS_MNEMONIC_UCOMISS] = COMI<false, false>;
  t[ZYDIS_MNEMONIC_COMISD] = COMI<true, true>;
  t[ZYDIS_MNEMONIC_UCOMISD] = COMI<true, false>;
  t[ZYDIS_MNEMONIC_CVTSI2SS] = CVTSI2<false>;
  t[ZYDIS_MNEMONIC_CVTSI2SD] = CVTSI2<true>;
  t[ZYDIS_MNEMONIC_CVTSS2SI] = CVT2SI<false, false>;
  t[ZYDIS_MNEMONIC_CVTTSS2SI] = CVT2SI<false, true>;
  t[ZYDIS_MNEMONIC_CVTSD2SI] = CVT2SI<true, false>;
  t[ZYDIS_MNEMONIC_CVTTSD2SI] = CVT2SI<true, true>;
}

}  // namespace vessel::engine::emu::interp
