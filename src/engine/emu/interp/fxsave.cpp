// x87/SSE state images. FXSAVE/FXRSTOR (SDM Vol. 1 §10.5.1, Tables 10-2 and 10-3): the 512-byte
// x87/MXCSR/XMM image. REX.W (FXSAVE64) stores 64-bit FIP/FDP; the legacy layout stores 32-bit
// offsets with FCS/FDS (0 here: selectors are not tracked). XMM8-15 exist in 64-bit mode only.
// Bytes 464-511 are left to software and never written. The image must be 16-byte aligned
// (#GP(0)); FXRSTOR with reserved MXCSR bits set is #GP(0). Both need CR0.EM = CR0.TS = 0 (#NM).
// Also FNSTENV/FLDENV (the 28/14-byte x87 environment, used by libc's fenv functions).
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/sse_common.hpp"
#include "engine/emu/interp/x87_stack.hpp"

namespace vessel::engine::emu::interp {

namespace {

constexpr unsigned kImageBytes = 512, kXmmOffset = 160, kStOffset = 32;

struct Image {
  uint8_t b[kImageBytes] = {};
  template <class T>
  void put(unsigned off, T v) {
    std::memcpy(b + off, &v, sizeof(T));
  }
  template <class T>
  T get(unsigned off) const {
    T v;
    std::memcpy(&v, b + off, sizeof(T));
    return v;
  }
};

// The image's linear address after the alignment check; both ends translated first so the
// access faults as a whole.
uint64_t image_la(Cpu& c, const DecodedInst& in, Access acc) {
  const uint64_t la = mem_la(c, in, in.ops[0], kImageBytes, acc, true);
  const bool user = c.cpl() == 3;
  c.translate(la, acc, user);
  c.translate(la + kImageBytes - 1, acc, user);
  return la;
}

unsigned xmm_count(const Cpu& c) {
  return c.mode64() ? 16 : 8;
}

void FXSAVE(Cpu& c, const DecodedInst& in) {
  x87::check_fpu_nowait(c);
  const uint64_t la = image_la(c, in, Access::kWrite);
  const auto& f = c.st.fpu;
  const bool wide = in.op == ZYDIS_MNEMONIC_FXSAVE64;  // REX.W
  Image img;
  img.put<uint16_t>(0, f.fcw);
  img.put<uint16_t>(2, f.fsw);
  img.put<uint8_t>(4, f.ftw);
  img.put<uint16_t>(6, f.fop);
  if (wide) {
    img.put<uint64_t>(8, f.fip);
    img.put<uint64_t>(16, f.fdp);
  } else {
    img.put<uint32_t>(8, static_cast<uint32_t>(f.fip));
    img.put<uint32_t>(16, static_cast<uint32_t>(f.fdp));
  }
  img.put<uint32_t>(24, f.mxcsr);
  img.put<uint32_t>(28, mxcsr::kValidMask);
  for (unsigned i = 0; i < 8; ++i) {
    std::memcpy(img.b + kStOffset + 16 * i, f.st[i].data(), 10);
  }
  const unsigned n = xmm_count(c);
  for (unsigned i = 0; i < n; ++i) std::memcpy(img.b + kXmmOffset + 16 * i, f.xmm[i].data(), 16);
  const bool user = c.cpl() == 3;
  const unsigned end = kXmmOffset + 16 * n;
  for (unsigned off = 0; off < end; off += 8)
    c.write_la<uint64_t>(la + off, img.get<uint64_t>(off), user);
}

void FXRSTOR(Cpu& c, const DecodedInst& in) {
  x87::check_fpu_nowait(c);
  const uint64_t la = image_la(c, in, Access::kRead);
  const bool user = c.cpl() == 3;
  const unsigned n = xmm_count(c), end = kXmmOffset + 16 * n;
  Image img;
  for (unsigned off = 0; off < end; off += 8)
    img.put<uint64_t>(off, c.read_la<uint64_t>(la + off, user));
  const uint32_t mx = img.get<uint32_t>(24);
  if (mx & ~mxcsr::kValidMask) raise(vec::kGP, 0);
  auto& f = c.st.fpu;
  const bool wide = in.op == ZYDIS_MNEMONIC_FXRSTOR64;
  f.fcw = img.get<uint16_t>(0);
  f.fsw = img.get<uint16_t>(2);
  f.ftw = img.get<uint8_t>(4);
  f.fop = img.get<uint16_t>(6) & 0x7ff;
  f.fip = wide ? img.get<uint64_t>(8) : img.get<uint32_t>(8);
  f.fdp = wide ? img.get<uint64_t>(16) : img.get<uint32_t>(16);
  f.mxcsr = mx;
  for (unsigned i = 0; i < 8; ++i) {
    f.st[i].fill(0);
    std::memcpy(f.st[i].data(), img.b + kStOffset + 16 * i, 10);
  }
  for (unsigned i = 0; i < n; ++i) std::memcpy(f.xmm[i].data(), img.b + kXmmOffset + 16 * i, 16);
}

// The full 2-bit tag of physical register p (SDM Vol. 1 §8.1.7): 00 valid, 01 zero,
// 10 special (NaN, infinity, denormal, unnormal), 11 empty.
unsigned full_tag(const Cpu& c, unsigned p) {
  if (!(c.st.fpu.ftw & (1u << p))) return 3;
  const auto& r = c.st.fpu.st[(p - x87::top(c)) & 7];
  uint64_t mant;
  std::memcpy(&mant, r.data(), 8);
  const unsigned exp = (r[8] | (r[9] << 8)) & 0x7fff;
  if (exp == 0x7fff) return 2;
  if (exp == 0) return mant ? 2 : 1;
  return (mant >> 63) ? 0 : 2;
}

// FNSTENV/FLDENV, protected-mode layouts (SDM Vol. 1 §8.1.10, Figures 8-9 and 8-10): 28 bytes
// of 32-bit fields, or 14 bytes of 16-bit fields with a 16-bit operand size. FNSTENV then masks
// every exception. The FPU CS/DS selectors are not tracked (stored as 0).
void FNSTENV(Cpu& c, const DecodedInst& in) {
  x87::check_fpu_nowait(c);
  const auto& f = c.st.fpu;
  const unsigned w = in.opsize == 2 ? 2 : 4;
  const uint64_t off = x87::mem_offset(c, in);
  const int seg = x87::mem_seg(in);
  c.probe_write(seg, off, 7 * w);
  uint32_t tags = 0;
  for (unsigned p = 0; p < 8; ++p) tags |= full_tag(c, p) << (2 * p);
  const uint64_t fields[7] = {f.fcw, f.fsw, tags, f.fip, w == 4 ? uint64_t{f.fop} << 16 : 0,
                              f.fdp, 0};
  for (unsigned i = 0; i < 7; ++i) c.write(seg, off + i * w, w, fields[i] & size_mask(w));
  c.st.fpu.fcw |= 0x3f;
}

void FLDENV(Cpu& c, const DecodedInst& in) {
  x87::check_fpu(c);
  const unsigned w = in.opsize == 2 ? 2 : 4;
  const uint64_t off = x87::mem_offset(c, in);
  const int seg = x87::mem_seg(in);
  uint64_t v[7];
  for (unsigned i = 0; i < 7; ++i) v[i] = c.read(seg, off + i * w, w);
  auto& f = c.st.fpu;
  x87::set_top_keep_physical(c, (v[1] >> x87::sw::kTopShift) & 7);
  f.fcw = static_cast<uint16_t>(v[0]);
  f.fsw = static_cast<uint16_t>(v[1]);
  uint8_t ftw = 0;
  for (unsigned p = 0; p < 8; ++p)
    if (((v[2] >> (2 * p)) & 3) != 3) ftw |= static_cast<uint8_t>(1u << p);
  f.ftw = ftw;
  f.fip = v[3];
  if (w == 4) f.fop = static_cast<uint16_t>((v[4] >> 16) & 0x7ff);
  f.fdp = v[5];
  // ES/B follow the restored flags against the restored masks (SDM Vol. 1 §8.1.3.1).
  if (f.fsw & ~f.fcw & 0x3f)
    f.fsw |= x87::sw::kES | x87::sw::kB;
  else
    f.fsw &= ~(x87::sw::kES | x87::sw::kB);
}

}  // namespace

void register_fxsave(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_FXSAVE] = t[ZYDIS_MNEMONIC_FXSAVE64] = FXSAVE;
  t[ZYDIS_MNEMONIC_FXRSTOR] = t[ZYDIS_MNEMONIC_FXRSTOR64] = FXRSTOR;
  t[ZYDIS_MNEMONIC_FNSTENV] = FNSTENV;
  t[ZYDIS_MNEMONIC_FLDENV] = FLDENV;
}

}  // namespace vessel::engine::emu::interp
