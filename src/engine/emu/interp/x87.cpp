// x87 data transfer and control (SDM Vol. 1 §8.3.3, §8.3.10; Vol. 2 instruction pages): FLD/FST/
// FSTP (m32/m64/m80/ST(i)), FILD/FIST/FISTP, the constants (FLD1, FLDZ, FLDPI, ...), FXCH,
// FFREE/FINCSTP/FDECSTP, FNINIT, FLDCW/FNSTCW, FNSTSW (m16/AX), FNCLEX and FWAIT. Forms are
// told apart by the opcode byte and ModRM (SDM Vol. 2 Appendix A.5, the escape opcode maps).
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/sse_common.hpp"
#include "engine/emu/interp/x87_stack.hpp"

namespace vessel::engine::emu::interp {

using namespace x87;

namespace {

unsigned modrm_reg(const DecodedInst& in) {
  return (in.modrm >> 3) & 7;
}

// FLD: D9 /0 m32, DD /0 m64, DB /5 m80, D9 C0+i ST(i).
void FLD(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  if (is_reg_form(in)) return push(c, get(c, in.modrm & 7));
  const uint64_t off = mem_offset(c, in);
  const int seg = mem_seg(in);
  long double v;
  if (in.opcode == 0xdb) {
    uint8_t b[10];
    const uint64_t lo = c.read(seg, off, 8), hi = c.read(seg, off + 8, 2);
    std::memcpy(b, &lo, 8);
    std::memcpy(b + 8, &hi, 2);
    v = load80(b);
  } else if (in.opcode == 0xdd) {
    uint64_t bits = c.read(seg, off, 8);
    v = host_run(c, [&] {
      double d;
      hide(bits);
      std::memcpy(&d, &bits, 8);
      return static_cast<long double>(d);
    });
  } else {
    uint32_t bits = static_cast<uint32_t>(c.read(seg, off, 4));
    v = host_run(c, [&] {
      float f;
      hide(bits);
      std::memcpy(&f, &bits, 4);
      return static_cast<long double>(f);
    });
  }
  push(c, v);
}

// FST/FSTP: D9 /2 /3 m32, DD /2 /3 m64, DB /7 m80 (FSTP only), DD D0+i / D8+i ST(i).
template <bool kPop>
void FST(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  long double v = get(c, 0);
  if (is_reg_form(in)) {
    set(c, in.modrm & 7, v);
  } else {
    const uint64_t off = mem_offset(c, in);
    const int seg = mem_seg(in);
    if (in.opcode == 0xdb) {
      uint8_t b[16];
      store80(b, v);
      uint64_t lo, hi = 0;
      std::memcpy(&lo, b, 8);
      std::memcpy(&hi, b + 8, 2);
      c.probe_write(seg, off, 10);
      c.write(seg, off, 8, lo);
      c.write(seg, off + 8, 2, hi);
    } else if (in.opcode == 0xdd) {
      const double d = host_run(c, [&] {
        hide(v);
        return static_cast<double>(v);
      });
      uint64_t bits;
      std::memcpy(&bits, &d, 8);
      c.write(seg, off, 8, bits);
    } else {
      const float f = host_run(c, [&] {
        hide(v);
        return static_cast<float>(v);
      });
      uint32_t bits;
      std::memcpy(&bits, &f, 4);
      c.write(seg, off, 4, bits);
    }
  }
  if (kPop) pop(c);
}

// FILD: DF /0 m16, DB /0 m32, DF /5 m64 (exact: every integer fits the 64-bit significand).
void FILD(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  const uint64_t off = mem_offset(c, in);
  const int seg = mem_seg(in);
  const unsigned size = in.opcode == 0xdb ? 4 : modrm_reg(in) == 5 ? 8 : 2;
  push(c, static_cast<long double>(sign_extend(c.read(seg, off, size), size)));
}

// FIST/FISTP: rounded per FCW.RC by the host's FISTP; out of range stores the integer
// indefinite with IE (SDM Vol. 2A FIST).
template <bool kPop>
void FIST(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  const uint64_t off = mem_offset(c, in);
  const int seg = mem_seg(in);
  const unsigned size = in.opcode == 0xdb ? 4 : modrm_reg(in) == 7 ? 8 : 2;
  long double v = get(c, 0);
  const int64_t r = host_run(c, [&] {
    hide(v);
    int64_t q = 0;
    if (size == 8) {
      asm volatile("fistpll %0" : "=m"(q) : "t"(v) : "st");
    } else if (size == 4) {
      int32_t d;
      asm volatile("fistpl %0" : "=m"(d) : "t"(v) : "st");
      q = d;
    } else {
      int16_t w;
      asm volatile("fistps %0" : "=m"(w) : "t"(v) : "st");
      q = w;
    }
    return q;
  });
  c.write(seg, off, size, static_cast<uint64_t>(r));
  if (kPop) pop(c);
}

// D9 E8..EE: FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ (rounded per FCW.RC).
void FLDCONST(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  const unsigned k = in.modrm & 7;
  const long double v = host_run(c, [k] {
    long double r;
    switch (k) {
      case 0:
        asm volatile("fld1" : "=t"(r));
        break;
      case 1:
        asm volatile("fldl2t" : "=t"(r));
        break;
      case 2:
        asm volatile("fldl2e" : "=t"(r));
        break;
      case 3:
        asm volatile("fldpi" : "=t"(r));
        break;
      case 4:
        asm volatile("fldlg2" : "=t"(r));
        break;
      case 5:
        asm volatile("fldln2" : "=t"(r));
        break;
      default:
        asm volatile("fldz" : "=t"(r));
        break;
    }
    return r;
  });
  push(c, v);
}

void FXCH(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  const unsigned i = in.modrm & 7;
  const long double a = get(c, 0), b = get(c, i);
  set(c, 0, b);
  set(c, i, a);
  c.st.fpu.fsw &= ~sw::kC1;
}

void FFREE(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  c.st.fpu.ftw &= static_cast<uint8_t>(~(1u << ((top(c) + (in.modrm & 7)) & 7)));
}

// FINCSTP/FDECSTP rotate the stack without changing tags.
template <int kDelta>
void FSTP_ROTATE(Cpu& c, const DecodedInst&) {
  check_fpu(c);
  auto& s = c.st.fpu.st;
  if (kDelta > 0) {
    const auto first = s[0];
    std::memmove(&s[0], &s[1], sizeof(s[0]) * 7);
    s[7] = first;
  } else {
    const auto last = s[7];
    std::memmove(&s[1], &s[0], sizeof(s[0]) * 7);
    s[0] = last;
  }
  set_top(c, top(c) + kDelta);
  c.st.fpu.fsw &= ~sw::kC1;
}

// FNINIT (SDM Vol. 2A FINIT): FCW 0x37f, FSW 0, all tags empty, FIP/FDP/FOP 0.
void FNINIT(Cpu& c, const DecodedInst&) {
  check_fpu_nowait(c);
  set_top_keep_physical(c, 0);
  auto& f = c.st.fpu;
  f.fcw = 0x37f;
  f.fsw = 0;
  f.ftw = 0;
  f.fop = 0;
  f.fip = 0;
  f.fdp = 0;
}

void FLDCW(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  c.st.fpu.fcw = static_cast<uint16_t>(c.read(mem_seg(in), mem_offset(c, in), 2) | 0x40);
  // Unmasking a pending exception sets ES (SDM Vol. 1 §8.1.3.1).
  if (c.st.fpu.fsw & ~c.st.fpu.fcw & 0x3f)
    c.st.fpu.fsw |= sw::kES | sw::kB;
  else
    c.st.fpu.fsw &= ~(sw::kES | sw::kB);
}
void FNSTCW(Cpu& c, const DecodedInst& in) {
  check_fpu_nowait(c);
  c.write(mem_seg(in), mem_offset(c, in), 2, c.st.fpu.fcw);
}
// FNSTSW: DD /7 m16 or DF E0 (AX).
void FNSTSW(Cpu& c, const DecodedInst& in) {
  check_fpu_nowait(c);
  if (is_reg_form(in)) return set_gpr(c, arch::kRax, 2, c.st.fpu.fsw);
  c.write(mem_seg(in), mem_offset(c, in), 2, c.st.fpu.fsw);
}
void FNCLEX(Cpu& c, const DecodedInst&) {
  check_fpu_nowait(c);
  c.st.fpu.fsw &= static_cast<uint16_t>(~(0x3f | sw::kSF | sw::kES | sw::kB));
}
// FWAIT: #NM only when CR0.MP and CR0.TS are both set (SDM Vol. 3A Table 2-2), then #MF for a
// pending unmasked exception.
void FWAIT(Cpu& c, const DecodedInst&) {
  if ((c.st.cr0 & (arch::cr0::kMP | arch::cr0::kTS)) == (arch::cr0::kMP | arch::cr0::kTS))
    raise(vec::kNM);
  check_pending(c);
}

}  // namespace

void register_x87_arith(HandlerTable& t);

void register_x87(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_FLD] = FLD;
  t[ZYDIS_MNEMONIC_FST] = FST<false>;
  t[ZYDIS_MNEMONIC_FSTP] = FST<true>;
  t[ZYDIS_MNEMONIC_FILD] = FILD;
  t[ZYDIS_MNEMONIC_FIST] = FIST<false>;
  t[ZYDIS_MNEMONIC_FISTP] = FIST<true>;
  for (int m :
       {ZYDIS_MNEMONIC_FLD1, ZYDIS_MNEMONIC_FLDL2T, ZYDIS_MNEMONIC_FLDL2E, ZYDIS_MNEMONIC_FLDPI,
        ZYDIS_MNEMONIC_FLDLG2, ZYDIS_MNEMONIC_FLDLN2, ZYDIS_MNEMONIC_FLDZ})
    t[m] = FLDCONST;
  t[ZYDIS_MNEMONIC_FXCH] = FXCH;
  t[ZYDIS_MNEMONIC_FFREE] = FFREE;
  t[ZYDIS_MNEMONIC_FINCSTP] = FSTP_ROTATE<1>;
  t[ZYDIS_MNEMONIC_FDECSTP] = FSTP_ROTATE<-1>;
  t[ZYDIS_MNEMONIC_FNINIT] = FNINIT;
  t[ZYDIS_MNEMONIC_FLDCW] = FLDCW;
  t[ZYDIS_MNEMONIC_FNSTCW] = FNSTCW;
  t[ZYDIS_MNEMONIC_FNSTSW] = FNSTSW;
  t[ZYDIS_MNEMONIC_FNCLEX] = FNCLEX;
  t[ZYDIS_MNEMONIC_FWAIT] = FWAIT;
  register_x87_arith(t);
}

}  // namespace vessel::engine::emu::interp
