// SSE/SSE2 data movement (SDM Vol. 1 §10.4.1, §11.4.1; Vol. 2 instruction pages): full-register
// moves (aligned and unaligned), MOVD/MOVQ, scalar MOVSS/MOVSD, half moves (MOVLPS/MOVHPS/
// MOVLHPS/MOVHLPS and PD forms), mask extraction (MOVMSKPS/PD, PMOVMSKB), PINSRW/PEXTRW,
// non-temporal stores (plain stores here), MASKMOVDQU and LDMXCSR/STMXCSR; plus the #UD/#NM
// and #XM/#UD helpers shared by the SSE files.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/mmx.hpp"

namespace vessel::engine::emu::interp {

using namespace arch;

void sse_unavailable(const Cpu& c) {
  if ((c.st.cr0 & cr0::kEM) || !(c.st.cr4 & cr4::kOSFXSR)) raise(vec::kUD);
  raise(vec::kNM);
}

void simd_fault(Cpu& c) {
  raise((c.st.cr4 & cr4::kOSXMMEXCPT) ? vec::kXM : vec::kUD);
}

namespace {

Handler g_string_movsd = nullptr;  // MOVSD (string) shares the SSE mnemonic

// MOVAPS/MOVAPD/MOVDQA/MOVNTPS/MOVNTPD/MOVNTDQ (aligned) and MOVUPS/MOVUPD/MOVDQU.
template <bool kAligned>
void MOV128(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  if (in.ops[0].kind == OpKind::kMem) xmm_reg(in, 1);
  store_vec(c, in, src_vec(c, in, 1, kAligned), kAligned);
}

// MOVD/MOVQ: xmm ← r/m (zero-extended to 128 bits), xmm ← xmm/m64, or r/m ← low lane.
void MOVDQ(Cpu& c, const DecodedInst& in) {
  if (in.ops[0].kind == OpKind::kMmx || in.ops[1].kind == OpKind::kMmx) return mmx::move(c, in);
  check_sse(c);
  const Operand& d = in.ops[0];
  const Operand& s = in.ops[1];
  if (d.kind == OpKind::kXmm) {
    const uint64_t v = s.kind == OpKind::kXmm ? lane64(get_xmm(c, s.reg), 0)
                                              : read_op(c, in, 1) & size_mask(s.size);
    return set_xmm(c, d.reg, make128(v, 0));
  }
  write_op(c, in, 0, lane64(get_xmm(c, xmm_reg(in, 1)), 0) & size_mask(d.size));
}

// MOVSS/MOVSD (SSE): reg ← reg merges the low lane; reg ← mem zeroes the rest; mem ← reg.
template <unsigned kSize>
void MOVS_SCALAR(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const Operand& d = in.ops[0];
  const Operand& s = in.ops[1];
  if (d.kind == OpKind::kMem) {
    return write_op(c, in, 0, lane64(get_xmm(c, xmm_reg(in, 1)), 0) & size_mask(kSize));
  }
  const uint8_t r = xmm_reg(in, 0);
  if (s.kind == OpKind::kMem) return set_xmm(c, r, make128(read_op(c, in, 1), 0));
  const __m128i a = get_xmm(c, r), b = get_xmm(c, s.reg);
  set_xmm(c, r, kSize == 4 ? pi(_mm_move_ss(ps(a), ps(b))) : pi(_mm_move_sd(pd(a), pd(b))));
}

void MOVSD(Cpu& c, const DecodedInst& in) {
  if (in.opcode_map == 0) return g_string_movsd(c, in);
  MOVS_SCALAR<8>(c, in);
}

// MOVLPS/MOVLPD (kHigh = 0) and MOVHPS/MOVHPD (kHigh = 1): one 64-bit half to or from memory.
template <int kHigh>
void MOVHALF(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  if (in.ops[0].kind == OpKind::kMem)
    return write_op(c, in, 0, lane64(get_xmm(c, xmm_reg(in, 1)), kHigh));
  const uint8_t r = xmm_reg(in, 0);
  if (in.ops[1].kind != OpKind::kMem) raise(vec::kUD);
  const uint64_t v = read_op(c, in, 1);
  const __m128i a = get_xmm(c, r);
  set_xmm(c, r, kHigh ? make128(lane64(a, 0), v) : make128(v, lane64(a, 1)));
}

void MOVHLPS(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const uint8_t r = xmm_reg(in, 0);
  set_xmm(c, r, make128(lane64(get_xmm(c, xmm_reg(in, 1)), 1), lane64(get_xmm(c, r), 1)));
}
void MOVLHPS(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const uint8_t r = xmm_reg(in, 0);
  set_xmm(c, r, make128(lane64(get_xmm(c, r), 0), lane64(get_xmm(c, xmm_reg(in, 1)), 0)));
}

// Sign bits to a general register (zero-extended).
void MOVMSKPS(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  set_gpr(c, in.ops[0].reg, in.ops[0].size, _mm_movemask_ps(ps(get_xmm(c, xmm_reg(in, 1)))));
}
void MOVMSKPD(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  set_gpr(c, in.ops[0].reg, in.ops[0].size, _mm_movemask_pd(pd(get_xmm(c, xmm_reg(in, 1)))));
}
void PMOVMSKB(Cpu& c, const DecodedInst& in) {
  if (in.ops[1].kind == OpKind::kMmx) return mmx::pmovmskb(c, in);
  check_sse(c);
  set_gpr(c, in.ops[0].reg, in.ops[0].size, _mm_movemask_epi8(get_xmm(c, xmm_reg(in, 1))));
}

void PEXTRW(Cpu& c, const DecodedInst& in) {
  if (in.opcode_map != 1) raise(vec::kUD);  // 66 0F 3A 15 is SSE4.1
  if (in.ops[1].kind == OpKind::kMmx) return mmx::pextrw(c, in);
  check_sse(c);
  uint16_t w[8];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(w), get_xmm(c, xmm_reg(in, 1)));
  set_gpr(c, in.ops[0].reg, in.ops[0].size, w[in.ops[2].value & 7]);
}
void PINSRW(Cpu& c, const DecodedInst& in) {
  if (in.ops[0].kind == OpKind::kMmx) return mmx::pinsrw(c, in);
  check_sse(c);
  const uint8_t r = xmm_reg(in, 0);
  uint16_t w[8];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(w), get_xmm(c, r));
  w[in.ops[2].value & 7] = static_cast<uint16_t>(read_op(c, in, 1));
  set_xmm(c, r, _mm_loadu_si128(reinterpret_cast<const __m128i*>(w)));
}

// MOVNTI: a general-register store (SSE2, no CR0/CR4 dependence).
void MOVNTI(Cpu& c, const DecodedInst& in) {
  write_op(c, in, 0, read_op(c, in, 1));
}

// MASKMOVDQU: bytes of xmm1 whose mask byte (xmm2) has bit 7 set go to DS:rDI.
void MASKMOVDQU(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  uint8_t v[16], m[16];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(v), get_xmm(c, xmm_reg(in, 0)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(m), get_xmm(c, xmm_reg(in, 1)));
  const int seg = in.seg_override != x86::kNoReg ? int{in.seg_override} : int{kDs};
  const uint64_t base = c.st.gpr[kRdi] & size_mask(in.addrsize);
  for (unsigned i = 0; i < 16; ++i)
    if (m[i] & 0x80) c.write(seg, (base + i) & size_mask(in.addrsize), 1, v[i]);
}

void LDMXCSR(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  const uint64_t v = read_op(c, in, 0);
  if (v & ~uint64_t{mxcsr::kValidMask}) raise(vec::kGP, 0);
  c.st.fpu.mxcsr = static_cast<uint32_t>(v);
}
void STMXCSR(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  write_op(c, in, 0, c.st.fpu.mxcsr);
}

}  // namespace

void register_sse_move(HandlerTable& t) {
  g_string_movsd = t[ZYDIS_MNEMONIC_MOVSD];
  for (int m : {ZYDIS_MNEMONIC_MOVAPS, ZYDIS_MNEMONIC_MOVAPD, ZYDIS_MNEMONIC_MOVDQA,
                ZYDIS_MNEMONIC_MOVNTPS, ZYDIS_MNEMONIC_MOVNTPD, ZYDIS_MNEMONIC_MOVNTDQ})
    t[m] = MOV128<true>;
  for (int m : {ZYDIS_MNEMONIC_MOVUPS, ZYDIS_MNEMONIC_MOVUPD, ZYDIS_MNEMONIC_MOVDQU})
    t[m] = MOV128<false>;
  t[ZYDIS_MNEMONIC_MOVD] = t[ZYDIS_MNEMONIC_MOVQ] = MOVDQ;
  t[ZYDIS_MNEMONIC_MOVSS] = MOVS_SCALAR<4>;
  t[ZYDIS_MNEMONIC_MOVSD] = MOVSD;
  t[ZYDIS_MNEMONIC_MOVLPS] = t[ZYDIS_MNEMONIC_MOVLPD] = MOVHALF<0>;
  t[ZYDIS_MNEMONIC_MOVHPS] = t[ZYDIS_MNEMONIC_MOVHPD] = MOVHALF<1>;
  t[ZYDIS_MNEMONIC_MOVHLPS] = MOVHLPS;
  t[ZYDIS_MNEMONIC_MOVLHPS] = MOVLHPS;
  t[ZYDIS_MNEMONIC_MOVMSKPS] = MOVMSKPS;
  t[ZYDIS_MNEMONIC_MOVMSKPD] = MOVMSKPD;
  t[ZYDIS_MNEMONIC_PMOVMSKB] = PMOVMSKB;
  t[ZYDIS_MNEMONIC_PEXTRW] = PEXTRW;
  t[ZYDIS_MNEMONIC_PINSRW] = PINSRW;
  t[ZYDIS_MNEMONIC_MOVNTI] = MOVNTI;
  t[ZYDIS_MNEMONIC_MASKMOVDQU] = MASKMOVDQU;
  // 0F 0D /0 /1 (PREFETCH/PREFETCHW): hints with no architectural effect, kept as NOPs (Intel
  // processors before PRFCHW executed 0F 0D as a NOP). PREFETCHNTA/T0/T1/T2 live in alu.cpp.
  t[ZYDIS_MNEMONIC_PREFETCH] = t[ZYDIS_MNEMONIC_PREFETCHW] = [](Cpu&, const DecodedInst&) {};
  t[ZYDIS_MNEMONIC_LDMXCSR] = LDMXCSR;
  t[ZYDIS_MNEMONIC_STMXCSR] = STMXCSR;
}

}  // namespace vessel::engine::emu::interp
