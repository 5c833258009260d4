// MMX instructions (SDM Vol. 1 ch. 9, Vol. 2 pages). The arithmetic reuses sse_int.cpp's SSE2
// operations on the low 64-bit lane; packs and high unpacks, whose 128-bit forms take their
// inputs from other lanes, are rearranged first. See mmx.hpp for the register aliasing.
#include "engine/emu/interp/mmx.hpp"

#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/x87_stack.hpp"

namespace vessel::engine::emu::interp {
namespace mmx {

using namespace arch;

void check(const Cpu& c) {
  if (c.st.cr0 & cr0::kEM) raise(vec::kUD);
  if (c.st.cr0 & cr0::kTS) raise(vec::kNM);
  x87::check_pending(c);
}

uint64_t get(const Cpu& c, uint8_t reg) {
  const unsigned slot = (reg - x87::top(c)) & 7;
  uint64_t v;
  std::memcpy(&v, c.st.fpu.st[slot].data(), 8);
  return v;
}

void commit(Cpu& c, uint8_t reg, uint64_t v) {
  if (x87::top(c) != 0) x87::set_top_keep_physical(c, 0);
  c.st.fpu.ftw = 0xff;
  if (reg == x86::kNoReg) return;
  auto& r = c.st.fpu.st[reg & 7];
  r.fill(0);
  std::memcpy(r.data(), &v, 8);
  r[8] = r[9] = 0xff;
}

namespace {
// Source operand 1: an MM register, memory (8 bytes, or 4 for the low unpacks), an imm8.
uint64_t source(Cpu& c, const DecodedInst& in) {
  const Operand& s = in.ops[1];
  switch (s.kind) {
    case OpKind::kMmx:
      return get(c, s.reg);
    case OpKind::kMem:
      return read_op(c, in, 1);
    case OpKind::kImm:
      return static_cast<uint64_t>(s.value) & 0xff;
    default:
      raise(vec::kUD);
  }
}
}  // namespace

void binary(Cpu& c, const DecodedInst& in, Fn f) {
  check(c);
  const uint8_t d = in.ops[0].reg;
  const __m128i a = make128(get(c, d), 0), b = make128(source(c, in), 0);
  __m128i r;
  switch (in.op) {
    case ZYDIS_MNEMONIC_PACKSSWB:  // dst's elements, then src's, in one 64-bit result
    case ZYDIS_MNEMONIC_PACKSSDW:
    case ZYDIS_MNEMONIC_PACKUSWB: {
      const __m128i ab = _mm_unpacklo_epi64(a, b);
      r = f(ab, ab);
      break;
    }
    case ZYDIS_MNEMONIC_PUNPCKHBW:  // the high halves of the 64-bit operands
      r = _mm_unpacklo_epi8(_mm_srli_si128(a, 4), _mm_srli_si128(b, 4));
      break;
    case ZYDIS_MNEMONIC_PUNPCKHWD:
      r = _mm_unpacklo_epi16(_mm_srli_si128(a, 4), _mm_srli_si128(b, 4));
      break;
    case ZYDIS_MNEMONIC_PUNPCKHDQ:
      r = _mm_unpacklo_epi32(_mm_srli_si128(a, 4), _mm_srli_si128(b, 4));
      break;
    default:
      r = f(a, b);
      break;
  }
  commit(c, d, lane64(r, 0));
}

void move(Cpu& c, const DecodedInst& in) {
  check(c);
  const Operand& d = in.ops[0];
  const Operand& s = in.ops[1];
  if (d.kind == OpKind::kMmx) {  // MOVD/MOVQ mm, r/m; MOVQ mm, mm/m64
    const uint64_t v = s.kind == OpKind::kMmx ? get(c, s.reg) : read_op(c, in, 1);
    return commit(c, d.reg, v & size_mask(s.size));
  }
  if (s.kind != OpKind::kMmx) raise(vec::kUD);
  write_op(c, in, 0, get(c, s.reg) & size_mask(d.size));  // may fault: before the commit
  commit(c);
}

void pmovmskb(Cpu& c, const DecodedInst& in) {
  check(c);
  const uint64_t v = get(c, in.ops[1].reg);
  uint64_t mask = 0;
  for (unsigned i = 0; i < 8; ++i) mask |= ((v >> (8 * i + 7)) & 1) << i;
  commit(c);
  set_gpr(c, in.ops[0].reg, in.ops[0].size, mask);
}
void pextrw(Cpu& c, const DecodedInst& in) {
  check(c);
  const uint64_t w = (get(c, in.ops[1].reg) >> (16 * (in.ops[2].value & 3))) & 0xffff;
  commit(c);
  set_gpr(c, in.ops[0].reg, in.ops[0].size, w);
}
void pinsrw(Cpu& c, const DecodedInst& in) {
  check(c);
  const unsigned shift = 16 * (in.ops[2].value & 3);
  const uint64_t w = read_op(c, in, 1) & 0xffff;
  const uint8_t d = in.ops[0].reg;
  commit(c, d, (get(c, d) & ~(0xffffull << shift)) | (w << shift));
}

namespace {

void EMMS(Cpu& c, const DecodedInst&) {
  check(c);
  c.st.fpu.ftw = 0;  // every register empty
}

// MOVQ2DQ xmm, mm / MOVDQ2Q mm, xmm (SSE2).
void MOVQ2DQ(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  check(c);
  const __m128i v = make128(get(c, in.ops[1].reg), 0);
  commit(c);
  set_xmm(c, xmm_reg(in, 0), v);
}
void MOVDQ2Q(Cpu& c, const DecodedInst& in) {
  check_sse(c);
  check(c);
  commit(c, in.ops[0].reg, lane64(get_xmm(c, xmm_reg(in, 1)), 0));
}

// MOVNTQ m64, mm (SSE): a plain store here (no caches to bypass).
void MOVNTQ(Cpu& c, const DecodedInst& in) {
  check(c);
  write_op(c, in, 0, get(c, in.ops[1].reg));
  commit(c);
}

// PSHUFW mm, mm/m64, imm8 (SSE): each destination word picks a source word by 2 bits.
void PSHUFW(Cpu& c, const DecodedInst& in) {
  check(c);
  const uint64_t s = source(c, in);
  const unsigned imm = static_cast<unsigned>(in.ops[2].value);
  uint64_t r = 0;
  for (unsigned i = 0; i < 4; ++i) r |= ((s >> (16 * ((imm >> (2 * i)) & 3))) & 0xffff) << (16 * i);
  commit(c, in.ops[0].reg, r);
}

}  // namespace
}  // namespace mmx

void register_mmx(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_EMMS] = mmx::EMMS;
  t[ZYDIS_MNEMONIC_MOVQ2DQ] = mmx::MOVQ2DQ;
  t[ZYDIS_MNEMONIC_MOVDQ2Q] = mmx::MOVDQ2Q;
  t[ZYDIS_MNEMONIC_MOVNTQ] = mmx::MOVNTQ;
  t[ZYDIS_MNEMONIC_PSHUFW] = mmx::PSHUFW;
  mmx::register_convert(t);
}

}  // namespace vessel::engine::emu::interp
