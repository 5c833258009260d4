// SSE/SSE2 interpreter tests: results against the host's own intrinsics on the same inputs,
// COMISS/UCOMISD flags, MXCSR rounding and exception flags, #XM/#UD for unmasked exceptions,
// #NM with CR0.TS, #UD without CR4.OSFXSR, #GP for misaligned aligned-form operands, the
// string/SSE MOVSD and CMPSD split, and the CPUID bits.
#include <emmintrin.h>

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kData = 0x300000;

struct SseEnv : Env {
  SseEnv() {
    long_mode(kCode);
    st().cr4 |= cr4::kOSFXSR | cr4::kOSXMMEXCPT;
  }
  void put(uint64_t gpa, __m128i v) {
    uint8_t b[16];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(b), v);
    load(gpa, std::vector<uint8_t>(b, b + 16));
  }
  __m128i xmm(int i) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(st().fpu.xmm[i].data()));
  }
  // Exception vector `v` lands in a handler that records it in R15 and halts.
  void trap(uint8_t v) {
    set_gate(v, kHandlers + 16 * v);
    load(kHandlers + 16 * v, assemble(64, "mov r15, " + std::to_string(v) + "\nhlt"));
  }
};

bool same(__m128i a, __m128i b) {
  return _mm_movemask_epi8(_mm_cmpeq_epi8(a, b)) == 0xffff;
}

std::string hex(__m128i v) {
  uint64_t q[2];
  _mm_storeu_si128(reinterpret_cast<__m128i*>(q), v);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016lx%016lx", q[1], q[0]);
  return buf;
}
#define EXPECT_XMM(a, b) EXPECT_TRUE(same(a, b)) << hex(a) << " != " << hex(b)

TEST(EmuSse, PackedAndScalarFloatMatchHost) {
  SseEnv e;
  const __m128 a = _mm_set_ps(1.5f, -2.25f, 1e30f, 3.0f), b = _mm_set_ps(0.1f, 7.0f, 1e10f, -0.0f);
  const __m128d c = _mm_set_pd(1.0 / 3.0, 2.5), d = _mm_set_pd(-7.125, 1e-300);
  e.put(kData, _mm_castps_si128(a));
  e.put(kData + 16, _mm_castps_si128(b));
  e.put(kData + 32, _mm_castpd_si128(c));
  e.put(kData + 48, _mm_castpd_si128(d));
  ASSERT_EQ(e.run_code("movaps xmm0, [0x300000]\nmovaps xmm1, xmm0\nmovaps xmm2, xmm0\n"
                       "movaps xmm3, xmm0\naddps xmm0, [0x300010]\nmulps xmm1, [0x300010]\n"
                       "divss xmm2, [0x300010]\nsqrtps xmm3, xmm3\n"
                       "movapd xmm4, [0x300020]\nmovapd xmm5, xmm4\nmovapd xmm6, xmm4\n"
                       "subpd xmm4, [0x300030]\ndivpd xmm5, [0x300030]\nminsd xmm6, [0x300030]\n"
                       "movapd xmm7, [0x300020]\nmaxpd xmm7, [0x300030]\nhlt"),
            StopReason::kHalt);
  EXPECT_XMM(e.xmm(0), _mm_castps_si128(_mm_add_ps(a, b)));
  EXPECT_XMM(e.xmm(1), _mm_castps_si128(_mm_mul_ps(a, b)));
  EXPECT_XMM(e.xmm(2), _mm_castps_si128(_mm_div_ss(a, b)));
  EXPECT_XMM(e.xmm(3), _mm_castps_si128(_mm_sqrt_ps(a)));
  EXPECT_XMM(e.xmm(4), _mm_castpd_si128(_mm_sub_pd(c, d)));
  EXPECT_XMM(e.xmm(5), _mm_castpd_si128(_mm_div_pd(c, d)));
  EXPECT_XMM(e.xmm(6), _mm_castpd_si128(_mm_min_sd(c, d)));
  EXPECT_XMM(e.xmm(7), _mm_castpd_si128(_mm_max_pd(c, d)));
  // divss by -0.0 raised ZE; sqrt of a negative lane raised IE; no exception was unmasked.
  EXPECT_EQ(e.st().fpu.mxcsr & 0x3f & (1u | 4u), 5u);
}

TEST(EmuSse, PackedIntegerMatchesHost) {
  SseEnv e;
  const __m128i a = _mm_set_epi32(0x7fff8000, static_cast<int>(0xfedcba98), 0x01020304, -5);
  const __m128i b = _mm_set_epi32(0x00017fff, 0x11223344, static_cast<int>(0x80ff7f00), 77);
  e.put(kData, a);
  e.put(kData + 16, b);
  const char* ops[] = {"paddusb", "psubsw",  "pmaddwd", "psadbw",  "packuswb",  "packssdw",
                       "pmulhuw", "pmuludq", "pavgb",   "pcmpgtw", "punpckhbw", "punpcklqdq",
                       "pminsw",  "pmaxub",  "pandn",   "psraw"};
  std::string code;
  for (int i = 0; i < 16; ++i)
    code += fmt::format("movdqa xmm{0}, [0x300000]\n{1} xmm{0}, [0x300010]\n", i, ops[i]);
  ASSERT_EQ(e.run_code(code + "hlt"), StopReason::kHalt);
  const __m128i want[] = {_mm_adds_epu8(a, b),   _mm_subs_epi16(a, b),    _mm_madd_epi16(a, b),
                          _mm_sad_epu8(a, b),    _mm_packus_epi16(a, b),  _mm_packs_epi32(a, b),
                          _mm_mulhi_epu16(a, b), _mm_mul_epu32(a, b),     _mm_avg_epu8(a, b),
                          _mm_cmpgt_epi16(a, b), _mm_unpackhi_epi8(a, b), _mm_unpacklo_epi64(a, b),
                          _mm_min_epi16(a, b),   _mm_max_epu8(a, b),      _mm_andnot_si128(a, b),
                          _mm_sra_epi16(a, b)};
  for (int i = 0; i < 16; ++i) EXPECT_XMM(e.xmm(i), want[i]) << ops[i];
}

TEST(EmuSse, ShufflesShiftsAndMoves) {
  SseEnv e;
  const __m128i a = _mm_set_epi32(0x33333333, 0x22222222, 0x11111111, 0x00000000 | 0x80);
  const __m128i b = _mm_set_epi32(0x77777777, static_cast<int>(0x86666666), 0x55555555, 0x44444444);
  e.put(kData, a);
  e.put(kData + 16, b);
  ASSERT_EQ(e.run_code("movdqa xmm0, [0x300000]\nmovdqa xmm8, [0x300010]\n"
                       "pshufd xmm1, xmm0, 0x1b\nmovdqa xmm2, xmm0\nshufps xmm2, xmm8, 0x4e\n"
                       "movdqa xmm3, xmm0\npslldq xmm3, 3\nmovdqa xmm4, xmm0\npsrldq xmm4, 5\n"
                       "movdqa xmm5, xmm0\npsllq xmm5, 4\npshufhw xmm6, xmm8, 0xe4 ^ 0x55\n"
                       "pmovmskb eax, xmm8\nmovmskps ebx, xmm8\npextrw ecx, xmm8, 5\n"
                       "movdqa xmm7, xmm0\npinsrw xmm7, ecx, 0\nmovq rdx, xmm8\n"
                       "mov rsi, -1\nmovq xmm9, rsi\nmovd xmm10, esi\n"
                       "movhlps xmm11, xmm8\nmovsd xmm12, [0x300010]\nhlt"),
            StopReason::kHalt);
  EXPECT_XMM(e.xmm(1), _mm_shuffle_epi32(a, 0x1b));
  EXPECT_XMM(e.xmm(2),
             _mm_castps_si128(_mm_shuffle_ps(_mm_castsi128_ps(a), _mm_castsi128_ps(b), 0x4e)));
  EXPECT_XMM(e.xmm(3), _mm_slli_si128(a, 3));
  EXPECT_XMM(e.xmm(4), _mm_srli_si128(a, 5));
  EXPECT_XMM(e.xmm(5), _mm_slli_epi64(a, 4));
  EXPECT_XMM(e.xmm(6), _mm_shufflehi_epi16(b, 0xe4 ^ 0x55));
  EXPECT_EQ(e.st().gpr[kRax], static_cast<uint64_t>(_mm_movemask_epi8(b)));
  EXPECT_EQ(e.st().gpr[kRbx], static_cast<uint64_t>(_mm_movemask_ps(_mm_castsi128_ps(b))));
  EXPECT_EQ(e.st().gpr[kRcx], static_cast<uint64_t>(_mm_extract_epi16(b, 5)));
  EXPECT_XMM(e.xmm(7), _mm_insert_epi16(a, _mm_extract_epi16(b, 5), 0));
  EXPECT_EQ(e.st().gpr[kRdx], 0x5555555544444444ull);
  EXPECT_XMM(e.xmm(9), _mm_set_epi64x(0, -1));
  EXPECT_XMM(e.xmm(10), _mm_set_epi64x(0, 0xffffffff));
  EXPECT_EQ(_mm_cvtsi128_si64(e.xmm(11)), _mm_cvtsi128_si64(_mm_unpackhi_epi64(b, b)));
  EXPECT_XMM(e.xmm(12), _mm_move_epi64(b));  // MOVSD from memory zeroes the upper half
}

TEST(EmuSse, ConversionsCompareAndHalfMovesMatchHost) {
  SseEnv e;
  const __m128 a = _mm_set_ps(-1.5f, 2.5f, 3e9f, -0.75f), b = _mm_set_ps(-1.5f, 1.0f, NAN, 8.0f);
  const __m128d d = _mm_set_pd(-3.5, 1e20);
  e.put(kData, _mm_castps_si128(a));
  e.put(kData + 16, _mm_castps_si128(b));
  e.put(kData + 32, _mm_castpd_si128(d));
  ASSERT_EQ(e.run_code("movaps xmm0, [0x300000]\ncvtps2dq xmm0, xmm0\n"
                       "cvttps2dq xmm1, [0x300000]\ncvtps2pd xmm2, [0x300000]\n"
                       "cvtpd2ps xmm3, [0x300020]\ncvtpd2dq xmm4, [0x300020]\n"
                       "movaps xmm5, [0x300000]\ncmpps xmm5, [0x300010], 1\n"
                       "movaps xmm6, [0x300000]\ncmpps xmm6, [0x300010], 4\n"
                       "movaps xmm7, [0x300000]\nunpckhps xmm7, [0x300010]\n"
                       "movaps xmm8, [0x300000]\nmovhps xmm8, [0x300020]\n"
                       "movaps xmm9, [0x300000]\nmovlpd xmm9, [0x300028]\n"
                       "movaps xmm10, [0x300000]\ncvtsd2ss xmm10, [0x300020]\n"
                       "mov rax, -7\ncvtsi2sd xmm11, rax\ncvtss2si rbx, [0x300004]\n"
                       "movaps xmm12, [0x300000]\nshufpd xmm12, [0x300020], 1\nhlt"),
            StopReason::kHalt);
  EXPECT_XMM(e.xmm(0), _mm_cvtps_epi32(a));
  EXPECT_XMM(e.xmm(1), _mm_cvttps_epi32(a));
  EXPECT_XMM(e.xmm(2), _mm_castpd_si128(_mm_cvtps_pd(a)));
  EXPECT_XMM(e.xmm(3), _mm_castps_si128(_mm_cvtpd_ps(d)));
  EXPECT_XMM(e.xmm(4), _mm_cvtpd_epi32(d));
  EXPECT_XMM(e.xmm(5), _mm_castps_si128(_mm_cmplt_ps(a, b)));
  EXPECT_XMM(e.xmm(6), _mm_castps_si128(_mm_cmpneq_ps(a, b)));
  EXPECT_XMM(e.xmm(7), _mm_castps_si128(_mm_unpackhi_ps(a, b)));
  EXPECT_XMM(e.xmm(8), _mm_castps_si128(_mm_loadh_pi(a, reinterpret_cast<const __m64*>(&d))));
  EXPECT_XMM(e.xmm(9), _mm_castpd_si128(_mm_loadl_pd(_mm_castps_pd(a),
                                                     reinterpret_cast<const double*>(&d) + 1)));
  EXPECT_XMM(e.xmm(10), _mm_castps_si128(_mm_cvtsd_ss(a, d)));
  EXPECT_EQ(_mm_cvtsd_f64(_mm_castsi128_pd(e.xmm(11))), -7.0);
  EXPECT_EQ(e.st().gpr[kRbx], 3000000000u);  // fits in 64 bits (CVTPS2DQ gave 0x80000000)
  EXPECT_XMM(e.xmm(12), _mm_castpd_si128(_mm_shuffle_pd(_mm_castps_pd(a), d, 1)));
}

TEST(EmuSse, ComissAndUcomisdFlags) {
  SseEnv e;
  e.poke<float>(kData, 1.0f);
  e.poke<float>(kData + 4, 2.0f);
  e.poke<uint32_t>(kData + 8, 0x7fc00000);  // QNaN
  e.poke<double>(kData + 16, 3.0);
  e.poke<double>(kData + 24, 3.0);
  ASSERT_EQ(e.run_code("movss xmm0, [0x300000]\ncomiss xmm0, [0x300004]\npushfq\n"
                       "movss xmm1, [0x300004]\ncomiss xmm1, xmm0\npushfq\n"
                       "movsd xmm2, [0x300010]\nucomisd xmm2, [0x300018]\npushfq\n"
                       "stmxcsr [0x300040]\n"
                       "ucomiss xmm0, [0x300008]\npushfq\nstmxcsr [0x300044]\n"
                       "comiss xmm0, [0x300008]\npushfq\nstmxcsr [0x300048]\n"
                       "pop r12\npop r11\npop r10\npop r9\npop r8\nhlt"),
            StopReason::kHalt);
  constexpr uint64_t m = rflags::kZF | rflags::kPF | rflags::kCF | rflags::kOF | rflags::kSF;
  EXPECT_EQ(e.st().gpr[kR8] & m, rflags::kCF);                               // 1 < 2
  EXPECT_EQ(e.st().gpr[kR9] & m, 0u);                                        // 2 > 1
  EXPECT_EQ(e.st().gpr[kR10] & m, rflags::kZF);                              // 3 == 3
  EXPECT_EQ(e.st().gpr[kR11] & m, rflags::kZF | rflags::kPF | rflags::kCF);  // unordered
  EXPECT_EQ(e.st().gpr[kR12] & m, rflags::kZF | rflags::kPF | rflags::kCF);
  EXPECT_EQ(e.peek<uint32_t>(kData + 0x40), 0x1f80u);
  EXPECT_EQ(e.peek<uint32_t>(kData + 0x44), 0x1f80u);  // UCOMISS: QNaN is not invalid
  EXPECT_EQ(e.peek<uint32_t>(kData + 0x48), 0x1f81u);  // COMISS: QNaN sets IE
}

TEST(EmuSse, MxcsrRoundingControl) {
  SseEnv e;
  e.poke<double>(kData, 2.5);
  e.poke<double>(kData + 8, -2.5);
  std::string code;
  for (int rc = 0; rc < 4; ++rc) {
    code += fmt::format("mov dword [0x300100], {}\nldmxcsr [0x300100]\n", 0x1f80 | (rc << 13));
    code += fmt::format("cvtsd2si r{}, [0x300000]\ncvtsd2si r{}, [0x300008]\n", 8 + rc, 12 + rc);
  }
  code +=
      "cvttsd2si eax, [0x300008]\nmov dword [0x300100], 0x3f80\nldmxcsr [0x300100]\n"
      "mov ecx, 1\ncvtsi2ss xmm0, ecx\nmov ecx, 3\ncvtsi2ss xmm1, ecx\ndivss xmm0, xmm1\nhlt";
  ASSERT_EQ(e.run_code(code), StopReason::kHalt);
  const int64_t pos[] = {2, 2, 3, 2}, neg[] = {-2, -3, -2, -2};  // nearest-even, down, up, trunc
  for (int rc = 0; rc < 4; ++rc) {
    EXPECT_EQ(static_cast<int64_t>(e.st().gpr[kR8 + rc]), pos[rc]) << "rc " << rc;
    EXPECT_EQ(static_cast<int64_t>(e.st().gpr[kR12 + rc]), neg[rc]) << "rc " << rc;
  }
  EXPECT_EQ(e.st().gpr[kRax], 0xfffffffeu);  // truncation ignores RC
  // 1/3 rounded down (RC = 01b): one ulp below the round-to-nearest result, which is above.
  float got;
  std::memcpy(&got, e.st().fpu.xmm[0].data(), 4);
  EXPECT_EQ(got, std::nextafter(1.0f / 3.0f, 0.0f));
  EXPECT_TRUE(e.st().fpu.mxcsr & 0x20);  // PE
}

TEST(EmuSse, UnmaskedExceptionRaisesXmOrUd) {
  for (bool osxmmexcpt : {true, false}) {
    SseEnv e;
    if (!osxmmexcpt) e.st().cr4 &= ~cr4::kOSXMMEXCPT;
    e.trap(vec::kXM);
    e.trap(vec::kUD);
    e.poke<uint32_t>(kData, 0x1f80 & ~(1u << 9));  // ZM clear: divide-by-zero unmasked
    ASSERT_EQ(e.run_code("ldmxcsr [0x300000]\nmov eax, 1\ncvtsi2ss xmm0, eax\n"
                         "xorps xmm1, xmm1\ndivss xmm0, xmm1\nmov r14, 1\nhlt"),
              StopReason::kHalt);
    EXPECT_EQ(e.st().gpr[kR15], osxmmexcpt ? vec::kXM : vec::kUD);
    EXPECT_EQ(e.st().gpr[kR14], 0u);
    float x0;
    std::memcpy(&x0, e.st().fpu.xmm[0].data(), 4);
    EXPECT_EQ(x0, 1.0f);                // destination not written
    EXPECT_TRUE(e.st().fpu.mxcsr & 4);  // ZE recorded
  }
}

TEST(EmuSse, NmWithTsAndUdWithoutOsfxsr) {
  SseEnv e;
  e.trap(vec::kNM);
  e.trap(vec::kUD);
  e.st().cr0 |= cr0::kTS;
  ASSERT_EQ(e.run_code("addps xmm0, xmm1\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], vec::kNM);
  SseEnv f;
  f.trap(vec::kUD);
  f.st().cr4 &= ~cr4::kOSFXSR;
  ASSERT_EQ(f.run_code("pxor xmm0, xmm0\nhlt"), StopReason::kHalt);
  EXPECT_EQ(f.st().gpr[kR15], vec::kUD);
}

TEST(EmuSse, MisalignedAlignedFormIsGp) {
  SseEnv e;
  e.trap(vec::kGP);
  e.put(kData, _mm_set_epi32(1, 2, 3, 4));
  e.put(kData + 16, _mm_set_epi32(5, 6, 7, 8));
  ASSERT_EQ(e.run_code("movdqu xmm0, [0x300004]\nmov r13, 1\npaddd xmm0, [0x300004]\n"
                       "mov r14, 1\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR13], 1u);  // MOVDQU does not care
  EXPECT_EQ(e.st().gpr[kR15], vec::kGP);
  EXPECT_EQ(e.st().gpr[kR14], 0u);
  EXPECT_XMM(e.xmm(0), _mm_set_epi32(8, 1, 2, 3));
}

TEST(EmuSse, LdmxcsrReservedBitsAreGp) {
  SseEnv e;
  e.trap(vec::kGP);
  e.poke<uint32_t>(kData, 0x11f80);
  ASSERT_EQ(e.run_code("ldmxcsr [0x300000]\nhlt"), StopReason::kHalt);
  EXPECT_EQ(e.st().gpr[kR15], vec::kGP);
  EXPECT_EQ(e.st().fpu.mxcsr, 0x1f80u);
}

TEST(EmuSse, StringAndSseFormsShareMnemonics) {
  SseEnv e;
  e.poke<uint64_t>(kData, 0x1122334455667788ull);
  ASSERT_EQ(e.run_code("mov esi, 0x300000\nmov edi, 0x300010\nmov ecx, 2\ncld\nrep movsd\n"
                       "movsd xmm3, [0x300000]\ncmpsd xmm3, [0x300010], 0\nmovq rbx, xmm3\n"
                       "mov esi, 0x300000\nmov edi, 0x300010\ncmpsd\nsete dl\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.peek<uint64_t>(kData + 16), 0x1122334455667788ull);
  EXPECT_EQ(e.st().gpr[kRbx], ~0ull);  // equal doubles: all-ones mask
  EXPECT_EQ(e.st().gpr[kRdx] & 0xff, 1u);
}

TEST(EmuSse, MaskmovdquMovntiNonTemporalStoresAndHints) {
  SseEnv e;
  e.trap(vec::kUD);
  e.put(kData, _mm_set_epi64x(0x1111111111111111, 0x2222222222222222));
  e.put(kData + 16, _mm_set_epi64x(0x8000000000000000, 0x0000000000000080));
  ASSERT_EQ(e.run_code("movdqa xmm0, [0x300000]\nmovdqa xmm1, [0x300010]\n"
                       "mov rdi, 0x300040\nmaskmovdqu xmm0, xmm1\n"
                       "mov rax, 0x123456789\nmovnti [0x300060], rax\n"
                       "movntdq [0x300070], xmm0\nprefetchw [0x300000]\nprefetcht0 [rdi]\n"
                       "sfence\nmov r14, 1\npextrw [0x300080], xmm0, 1\nhlt"),
            StopReason::kHalt);
  EXPECT_EQ(e.peek<uint64_t>(kData + 0x40), 0x22u);                  // byte 0 only
  EXPECT_EQ(e.peek<uint64_t>(kData + 0x48), 0x1100000000000000ull);  // byte 15 only
  EXPECT_EQ(e.peek<uint64_t>(kData + 0x60), 0x123456789ull);
  EXPECT_EQ(e.peek<uint64_t>(kData + 0x78), 0x1111111111111111ull);
  EXPECT_EQ(e.st().gpr[kR14], 1u);
  EXPECT_EQ(e.st().gpr[kR15], vec::kUD);  // PEXTRW m16 (66 0F 3A 15) is SSE4.1: not advertised
}

TEST(EmuSse, CpuidAdvertisesFpuFxsrSseSse2Only) {
  SseEnv e;
  ASSERT_EQ(e.run_code("mov eax, 1\ncpuid\nhlt"), StopReason::kHalt);
  const uint32_t edx = static_cast<uint32_t>(e.st().gpr[kRdx]);
  const uint32_t ecx = static_cast<uint32_t>(e.st().gpr[kRcx]);
  EXPECT_TRUE(edx & 1u);           // FPU
  EXPECT_TRUE(edx & (1u << 24));   // FXSR
  EXPECT_TRUE(edx & (1u << 25));   // SSE
  EXPECT_TRUE(edx & (1u << 26));   // SSE2
  EXPECT_FALSE(ecx & 1u);          // no SSE3
  EXPECT_FALSE(ecx & (1u << 26));  // no XSAVE
  EXPECT_FALSE(ecx & (1u << 28));  // no AVX
}

TEST(EmuSse, SseInRing3Works) {
  SseEnv e;
  e.st().seg[kCs].selector = 0x2b;
  e.st().seg[kCs].dpl = 3;
  e.st().seg[kSs].selector = 0x23;
  e.st().seg[kSs].dpl = 3;
  e.cpu.state_changed();
  e.put(kData, _mm_set_epi64x(5, 7));
  ASSERT_EQ(e.run_code("movdqa xmm0, [0x300000]\npaddq xmm0, xmm0\nmovdqu [0x300011], xmm0\n"
                       "l: jmp l",
                       10),
            StopReason::kInstructionLimit);
  EXPECT_EQ(e.peek<uint64_t>(kData + 0x11), 14u);
  EXPECT_EQ(e.peek<uint64_t>(kData + 0x19), 10u);
}

}  // namespace
}  // namespace vessel::engine::emu::test
