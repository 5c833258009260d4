// SSE2 128-bit integer and bitwise operations (SDM Vol. 1 §11.4.2-11.4.5; Vol. 2 instruction
// pages): PADD/PSUB (wrapping and saturating), multiplies, PAVG, PMIN/PMAX, PSADBW, compares,
// packs and unpacks, shifts (register, immediate and whole-register byte shifts), the logical
// ops (PAND.. and ANDPS/ANDPD..), and the shuffles (PSHUFD/HW/LW, SHUFPS/PD, UNPCK*PS/PD).
// None of these touch MXCSR; each is one host instruction on the guest's register values.
// Their MMX-register forms go to mmx.cpp, which runs the same operations on 64 bits.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/mmx.hpp"

namespace vessel::engine::emu::interp {

namespace {

using Fn = __m128i (*)(__m128i, __m128i);
using FnImm = __m128i (*)(__m128i, __m128i, unsigned);

// dst = F(dst, src); an immediate source (shift counts) becomes the low lane.
template <Fn F>
void INT2(Cpu& c, const DecodedInst& in) {
  if (in.ops[0].kind == OpKind::kMmx) [[unlikely]]
    return mmx::binary(c, in, F);
  check_sse(c);
  const uint8_t r = xmm_reg(in, 0);
  const __m128i b = in.ops[1].kind == OpKind::kImm
                        ? make128(static_cast<uint64_t>(in.ops[1].value) & 0xff, 0)
                        : src_vec(c, in, 1);
  set_xmm(c, r, F(get_xmm(c, r), b));
}

// dst = F(dst, src, imm8) for the three-operand forms; PSLLDQ/PSRLDQ have src = dst.
template <FnImm F>
void INT2_IMM(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const uint8_t r = xmm_reg(in, 0);
  const int imm_index = in.num_operands - 1;
  const __m128i b = in.num_operands == 3 ? src_vec(c, in, 1) : get_xmm(c, r);
  const unsigned imm = static_cast<unsigned>(in.ops[imm_index].value) & 0xff;
  set_xmm(c, r, F(get_xmm(c, r), b, imm));
}

#define VESSEL_INT(NAME, EXPR)         \
  __m128i NAME(__m128i a, __m128i b) { \
    return EXPR;                       \
  }
#define VESSEL_CAST_OP(NAME, OP)                        \
  VESSEL_INT(NAME##ps, pi(_mm_##OP##_ps(ps(a), ps(b)))) \
  VESSEL_INT(NAME##pd, pi(_mm_##OP##_pd(pd(a), pd(b))))

VESSEL_INT(paddb, _mm_add_epi8(a, b))
VESSEL_INT(paddw, _mm_add_epi16(a, b))
VESSEL_INT(paddd, _mm_add_epi32(a, b))
VESSEL_INT(paddq, _mm_add_epi64(a, b))
VESSEL_INT(paddsb, _mm_adds_epi8(a, b))
VESSEL_INT(paddsw, _mm_adds_epi16(a, b))
VESSEL_INT(paddusb, _mm_adds_epu8(a, b))
VESSEL_INT(paddusw, _mm_adds_epu16(a, b))
VESSEL_INT(psubb, _mm_sub_epi8(a, b))
VESSEL_INT(psubw, _mm_sub_epi16(a, b))
VESSEL_INT(psubd, _mm_sub_epi32(a, b))
VESSEL_INT(psubq, _mm_sub_epi64(a, b))
VESSEL_INT(psubsb, _mm_subs_epi8(a, b))
VESSEL_INT(psubsw, _mm_subs_epi16(a, b))
VESSEL_INT(psubusb, _mm_subs_epu8(a, b))
VESSEL_INT(psubusw, _mm_subs_epu16(a, b))
VESSEL_INT(pmullw, _mm_mullo_epi16(a, b))
VESSEL_INT(pmulhw, _mm_mulhi_epi16(a, b))
VESSEL_INT(pmulhuw, _mm_mulhi_epu16(a, b))
VESSEL_INT(pmuludq, _mm_mul_epu32(a, b))
VESSEL_INT(pmaddwd, _mm_madd_epi16(a, b))
VESSEL_INT(pavgb, _mm_avg_epu8(a, b))
VESSEL_INT(pavgw, _mm_avg_epu16(a, b))
VESSEL_INT(pminub, _mm_min_epu8(a, b))
VESSEL_INT(pmaxub, _mm_max_epu8(a, b))
VESSEL_INT(pminsw, _mm_min_epi16(a, b))
VESSEL_INT(pmaxsw, _mm_max_epi16(a, b))
VESSEL_INT(psadbw, _mm_sad_epu8(a, b))
VESSEL_INT(pcmpeqb, _mm_cmpeq_epi8(a, b))
VESSEL_INT(pcmpeqw, _mm_cmpeq_epi16(a, b))
VESSEL_INT(pcmpeqd, _mm_cmpeq_epi32(a, b))
VESSEL_INT(pcmpgtb, _mm_cmpgt_epi8(a, b))
VESSEL_INT(pcmpgtw, _mm_cmpgt_epi16(a, b))
VESSEL_INT(pcmpgtd, _mm_cmpgt_epi32(a, b))
VESSEL_INT(packsswb, _mm_packs_epi16(a, b))
VESSEL_INT(packssdw, _mm_packs_epi32(a, b))
VESSEL_INT(packuswb, _mm_packus_epi16(a, b))
VESSEL_INT(punpcklbw, _mm_unpacklo_epi8(a, b))
VESSEL_INT(punpcklwd, _mm_unpacklo_epi16(a, b))
VESSEL_INT(punpckldq, _mm_unpacklo_epi32(a, b))
VESSEL_INT(punpcklqdq, _mm_unpacklo_epi64(a, b))
VESSEL_INT(punpckhbw, _mm_unpackhi_epi8(a, b))
VESSEL_INT(punpckhwd, _mm_unpackhi_epi16(a, b))
VESSEL_INT(punpckhdq, _mm_unpackhi_epi32(a, b))
VESSEL_INT(punpckhqdq, _mm_unpackhi_epi64(a, b))
// Shift counts come from the low 64 bits of the source; counts past the width give 0 (or the
// sign for PSRA), exactly as the host's register-count form does (SDM Vol. 2B PSLLW).
VESSEL_INT(psllw, _mm_sll_epi16(a, b))
VESSEL_INT(pslld, _mm_sll_epi32(a, b))
VESSEL_INT(psllq, _mm_sll_epi64(a, b))
VESSEL_INT(psrlw, _mm_srl_epi16(a, b))
VESSEL_INT(psrld, _mm_srl_epi32(a, b))
VESSEL_INT(psrlq, _mm_srl_epi64(a, b))
VESSEL_INT(psraw, _mm_sra_epi16(a, b))
VESSEL_INT(psrad, _mm_sra_epi32(a, b))
VESSEL_INT(pand, _mm_and_si128(a, b))
VESSEL_INT(pandn, _mm_andnot_si128(a, b))
VESSEL_INT(por, _mm_or_si128(a, b))
VESSEL_INT(pxor, _mm_xor_si128(a, b))
VESSEL_CAST_OP(and, and)
VESSEL_CAST_OP(andn, andnot)
VESSEL_CAST_OP(or, or)
VESSEL_CAST_OP(xor, xor)
VESSEL_CAST_OP(unpckl, unpacklo)
VESSEL_CAST_OP(unpckh, unpackhi)

template <class T, int N>
struct Lanes {
  T v[N];
  explicit Lanes(__m128i x) { _mm_storeu_si128(reinterpret_cast<__m128i*>(v), x); }
  __m128i get() const { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(v)); }
};

// Whole-register byte shifts; counts above 15 clear the register.
__m128i pslldq(__m128i a, __m128i, unsigned n) {
  Lanes<uint8_t, 16> s(a), d(_mm_setzero_si128());
  for (unsigned i = n; i < 16; ++i) d.v[i] = s.v[i - n];
  return d.get();
}
__m128i psrldq(__m128i a, __m128i, unsigned n) {
  Lanes<uint8_t, 16> s(a), d(_mm_setzero_si128());
  for (unsigned i = 0; i + n < 16; ++i) d.v[i] = s.v[i + n];
  return d.get();
}
// Shuffles (SDM Vol. 2B PSHUFD, Vol. 2B SHUFPS): each destination lane picks by a 2-bit field.
__m128i pshufd(__m128i, __m128i b, unsigned imm) {
  Lanes<uint32_t, 4> s(b), d(b);
  for (unsigned i = 0; i < 4; ++i) d.v[i] = s.v[(imm >> (2 * i)) & 3];
  return d.get();
}
__m128i pshuflw(__m128i, __m128i b, unsigned imm) {
  Lanes<uint16_t, 8> s(b), d(b);
  for (unsigned i = 0; i < 4; ++i) d.v[i] = s.v[(imm >> (2 * i)) & 3];
  return d.get();
}
__m128i pshufhw(__m128i, __m128i b, unsigned imm) {
  Lanes<uint16_t, 8> s(b), d(b);
  for (unsigned i = 0; i < 4; ++i) d.v[4 + i] = s.v[4 + ((imm >> (2 * i)) & 3)];
  return d.get();
}
__m128i shufps(__m128i a, __m128i b, unsigned imm) {
  Lanes<uint32_t, 4> x(a), y(b), d(a);
  d.v[0] = x.v[imm & 3];
  d.v[1] = x.v[(imm >> 2) & 3];
  d.v[2] = y.v[(imm >> 4) & 3];
  d.v[3] = y.v[(imm >> 6) & 3];
  return d.get();
}
__m128i shufpd(__m128i a, __m128i b, unsigned imm) {
  return make128(lane64(a, imm & 1), lane64(b, (imm >> 1) & 1));
}

}  // namespace

void register_sse_int(HandlerTable& t) {
#define VESSEL_R(NAME, FN) t[ZYDIS_MNEMONIC_##NAME] = INT2<FN>;
  VESSEL_R(PADDB, paddb)
  VESSEL_R(PADDW, paddw)
  VESSEL_R(PADDD, paddd)
  VESSEL_R(PADDQ, paddq)
  VESSEL_R(PADDSB, paddsb)
  VESSEL_R(PADDSW, paddsw)
  VESSEL_R(PADDUSB, paddusb)
  VESSEL_R(PADDUSW, paddusw)
  VESSEL_R(PSUBB, psubb)
  VESSEL_R(PSUBW, psubw)
  VESSEL_R(PSUBD, psubd)
  VESSEL_R(PSUBQ, psubq)
  VESSEL_R(PSUBSB, psubsb)
  VESSEL_R(PSUBSW, psubsw)
  VESSEL_R(PSUBUSB, psubusb)
  VESSEL_R(PSUBUSW, psubusw)
  VESSEL_R(PMULLW, pmullw)
  VESSEL_R(PMULHW, pmulhw)
  VESSEL_R(PMULHUW, pmulhuw)
  VESSEL_R(PMULUDQ, pmuludq)
  VESSEL_R(PMADDWD, pmaddwd)
  VESSEL_R(PAVGB, pavgb)
  VESSEL_R(PAVGW, pavgw)
  VESSEL_R(PMINUB, pminub)
  VESSEL_R(PMAXUB, pmaxub)
  VESSEL_R(PMINSW, pminsw)
  VESSEL_R(PMAXSW, pmaxsw)
  VESSEL_R(PSADBW, psadbw)
  VESSEL_R(PCMPEQB, pcmpeqb)
  VESSEL_R(PCMPEQW, pcmpeqw)
  VESSEL_R(PCMPEQD, pcmpeqd)
  VESSEL_R(PCMPGTB, pcmpgtb)
  VESSEL_R(PCMPGTW, pcmpgtw)
  VESSEL_R(PCMPGTD, pcmpgtd)
  VESSEL_R(PACKSSWB, packsswb)
  VESSEL_R(PACKSSDW, packssdw)
  VESSEL_R(PACKUSWB, packuswb)
  VESSEL_R(PUNPCKLBW, punpcklbw)
  VESSEL_R(PUNPCKLWD, punpcklwd)
  VESSEL_R(PUNPCKLDQ, punpckldq)
  VESSEL_R(PUNPCKLQDQ, punpcklqdq)
  VESSEL_R(PUNPCKHBW, punpckhbw)
  VESSEL_R(PUNPCKHWD, punpckhwd)
  VESSEL_R(PUNPCKHDQ, punpckhdq)
  VESSEL_R(PUNPCKHQDQ, punpckhqdq)
  VESSEL_R(PSLLW, psllw)
  VESSEL_R(PSLLD, pslld)
  VESSEL_R(PSLLQ, psllq)
  VESSEL_R(PSRLW, psrlw)
  VESSEL_R(PSRLD, psrld)
  VESSEL_R(PSRLQ, psrlq)
  VESSEL_R(PSRAW, psraw)
  VESSEL_R(PSRAD, psrad)
  VESSEL_R(PAND, pand)
  VESSEL_R(PANDN, pandn)
  VESSEL_R(POR, por)
  VESSEL_R(PXOR, pxor)
  VESSEL_R(ANDPS, andps)
  VESSEL_R(ANDPD, andpd)
  VESSEL_R(ANDNPS, andnps)
  VESSEL_R(ANDNPD, andnpd)
  VESSEL_R(ORPS, orps)
  VESSEL_R(ORPD, orpd)
  VESSEL_R(XORPS, xorps)
  VESSEL_R(XORPD, xorpd)
  VESSEL_R(UNPCKLPS, unpcklps)
  VESSEL_R(UNPCKLPD, unpcklpd)
  VESSEL_R(UNPCKHPS, unpckhps)
  VESSEL_R(UNPCKHPD, unpckhpd)
#undef VESSEL_R
  t[ZYDIS_MNEMONIC_PSLLDQ] = INT2_IMM<pslldq>;
  t[ZYDIS_MNEMONIC_PSRLDQ] = INT2_IMM<psrldq>;
  t[ZYDIS_MNEMONIC_PSHUFD] = INT2_IMM<pshufd>;
  t[ZYDIS_MNEMONIC_PSHUFLW] = INT2_IMM<pshuflw>;
  t[ZYDIS_MNEMONIC_PSHUFHW] = INT2_IMM<pshufhw>;
  t[ZYDIS_MNEMONIC_SHUFPS] = INT2_IMM<shufps>;
  t[ZYDIS_MNEMONIC_SHUFPD] = INT2_IMM<shufpd>;
}

}  // namespace vessel::engine::emu::interp
