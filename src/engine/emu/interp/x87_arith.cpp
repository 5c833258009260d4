// x87 arithmetic and comparison (SDM Vol. 1 §8.3.5-8.3.7; Vol. 2 FADD..FDIVR, FCOM, FCOMI):
// FADD/FSUB/FSUBR/FMUL/FDIV/FDIVR with their P (pop) and I (integer memory) forms, FCHS, FABS,
// FSQRT, FRNDINT, FTST, FXAM, FCOM/FCOMP/FCOMPP/FUCOM*, FCOMI/FUCOMI(P). Results come from
// the host x87 under the guest's control word (x87_stack.hpp).
#include <Zydis/Mnemonic.h>

#include <cmath>

#include "engine/emu/interp/x87_stack.hpp"

namespace vessel::engine::emu::interp {

using namespace x87;

namespace {

enum class Op { kAdd, kSub, kSubr, kMul, kDiv, kDivr };

long double compute(Cpu& c, Op op, long double a, long double b) {
  return host_run(c, [&] {
    hide(a);
    hide(b);
    switch (op) {
      case Op::kAdd:
        return a + b;
      case Op::kSub:
        return a - b;
      case Op::kSubr:
        return b - a;
      case Op::kMul:
        return a * b;
      case Op::kDiv:
        return a / b;
      default:
        return b / a;
    }
  });
}

// The memory source by escape opcode: D8 m32 real, DC m64 real, DA m32 int, DE m16 int.
long double mem_source(Cpu& c, const DecodedInst& in) {
  const uint64_t off = mem_offset(c, in);
  const int seg = mem_seg(in);
  switch (in.opcode) {
    case 0xd8: {
      const uint32_t bits = static_cast<uint32_t>(c.read(seg, off, 4));
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case 0xdc: {
      const uint64_t bits = c.read(seg, off, 8);
      double d;
      std::memcpy(&d, &bits, 8);
      return d;
    }
    case 0xda:
      return static_cast<long double>(sign_extend(c.read(seg, off, 4), 4));
    default:
      return static_cast<long double>(sign_extend(c.read(seg, off, 2), 2));
  }
}

// Memory: ST(0) = ST(0) op m. D8 C0+i: ST(0) = ST(0) op ST(i). DC/DE: ST(i) = ST(i) op ST(0),
// DE pops (the Intel operand order: "FSUB ST(i), ST(0)" is DC E8+i).
template <Op kOp>
void FARITH(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  c.st.fpu.fsw &= ~sw::kC1;
  if (!is_reg_form(in)) {
    const long double m = mem_source(c, in);
    return set(c, 0, compute(c, kOp, get(c, 0), m));
  }
  const unsigned i = in.modrm & 7;
  if (in.opcode == 0xd8) return set(c, 0, compute(c, kOp, get(c, 0), get(c, i)));
  set(c, i, compute(c, kOp, get(c, i), get(c, 0)));
  if (in.opcode == 0xde) pop(c);
}

// D9 E0.. one-operand ST(0) operations.
void FCHS(Cpu& c, const DecodedInst&) {
  check_fpu(c);
  c.st.fpu.fsw &= ~sw::kC1;
  set(c, 0, -get(c, 0));
}
void FABS(Cpu& c, const DecodedInst&) {
  check_fpu(c);
  c.st.fpu.fsw &= ~sw::kC1;
  const long double v = get(c, 0);
  set(c, 0, v < 0 || std::signbit(v) ? -v : v);
}
void FSQRT(Cpu& c, const DecodedInst&) {
  check_fpu(c);
  long double v = get(c, 0);
  set(c, 0, host_run(c, [&] {
        hide(v);
        asm volatile("fsqrt" : "+t"(v));
        return v;
      }));
}
void FRNDINT(Cpu& c, const DecodedInst&) {
  check_fpu(c);
  long double v = get(c, 0);
  set(c, 0, host_run(c, [&] {
        hide(v);
        asm volatile("frndint" : "+t"(v));
        return v;
      }));
}

bool is_nan(long double v) {
  return v != v;
}
bool is_snan(long double v) {
  uint8_t b[10];
  std::memcpy(b, &v, 10);
  uint64_t mant;
  std::memcpy(&mant, b, 8);
  return is_nan(v) && !(mant & (1ull << 62));
}

// Sets C3 C2 C0 (FCOM) from the relation of a and b; IE for NaNs (FUCOM: SNaN only).
void compare_cc(Cpu& c, long double a, long double b, bool ordered) {
  uint16_t cc;
  if (is_nan(a) || is_nan(b)) {
    cc = sw::kC3 | sw::kC2 | sw::kC0;
    if (ordered || is_snan(a) || is_snan(b)) signal(c, sw::kIE);
  } else {
    cc = a < b ? sw::kC0 : a == b ? sw::kC3 : 0;
  }
  c.st.fpu.fsw =
      static_cast<uint16_t>((c.st.fpu.fsw & ~(sw::kC3 | sw::kC2 | sw::kC1 | sw::kC0)) | cc);
}

// FCOM/FCOMP (D8 /2 /3 m32, DC /2 /3 m64, D8 D0+i / D8+i), FUCOM/FUCOMP (DD E0+i / E8+i),
// FCOMPP (DE D9), FUCOMPP (DA E9). kPops: how many pops.
template <bool kOrdered, int kPops>
void FCOM(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  const long double b = is_reg_form(in) ? get(c, kPops == 2 ? 1 : in.modrm & 7) : mem_source(c, in);
  compare_cc(c, get(c, 0), b, kOrdered);
  for (int i = 0; i < kPops; ++i) pop(c);
}

void FTST(Cpu& c, const DecodedInst&) {
  check_fpu(c);
  compare_cc(c, get(c, 0), 0.0L, true);
}

// FXAM: class of ST(0) in C3 C2 C0, sign in C1 (SDM Vol. 2A FXAM).
void FXAM(Cpu& c, const DecodedInst&) {
  check_fpu(c);
  uint8_t b[10];
  std::memcpy(b, c.st.fpu.st[0].data(), 10);
  const unsigned exp = (b[8] | (b[9] << 8)) & 0x7fff;
  uint64_t mant;
  std::memcpy(&mant, b, 8);
  uint16_t cc;
  if (!valid(c, 0))
    cc = sw::kC3 | sw::kC0;  // empty
  else if (exp == 0x7fff)
    cc = (mant << 1) ? sw::kC0 : sw::kC2 | sw::kC0;  // NaN / infinity
  else if (exp == 0 && mant == 0)
    cc = sw::kC3;  // zero
  else if (exp == 0)
    cc = sw::kC3 | sw::kC2;  // denormal
  else if (!(mant >> 63))
    cc = 0;  // unsupported
  else
    cc = sw::kC2;  // normal
  if (b[9] & 0x80) cc |= sw::kC1;
  c.st.fpu.fsw =
      static_cast<uint16_t>((c.st.fpu.fsw & ~(sw::kC3 | sw::kC2 | sw::kC1 | sw::kC0)) | cc);
}

// FCOMI/FUCOMI (DB F0+i / E8+i) and the P forms (DF): ZF PF CF like COMISS; OF SF AF = 0.
template <bool kOrdered, bool kPop>
void FCOMI(Cpu& c, const DecodedInst& in) {
  check_fpu(c);
  const long double a = get(c, 0), b = get(c, in.modrm & 7);
  uint64_t fl = 0;
  if (is_nan(a) || is_nan(b)) {
    fl = arch::rflags::kZF | arch::rflags::kPF | arch::rflags::kCF;
    if (kOrdered || is_snan(a) || is_snan(b)) signal(c, sw::kIE);
  } else if (a < b) {
    fl = arch::rflags::kCF;
  } else if (a == b) {
    fl = arch::rflags::kZF;
  }
  c.st.fpu.fsw &= ~sw::kC1;
  flags_out(c, fl);
  if (kPop) pop(c);
}

}  // namespace

void register_x87_arith(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_FADD] = t[ZYDIS_MNEMONIC_FADDP] = t[ZYDIS_MNEMONIC_FIADD] = FARITH<Op::kAdd>;
  t[ZYDIS_MNEMONIC_FSUB] = t[ZYDIS_MNEMONIC_FSUBP] = t[ZYDIS_MNEMONIC_FISUB] = FARITH<Op::kSub>;
  t[ZYDIS_MNEMONIC_FSUBR] = t[ZYDIS_MNEMONIC_FSUBRP] = t[ZYDIS_MNEMONIC_FISUBR] = FARITH<Op::kSubr>;
  t[ZYDIS_MNEMONIC_FMUL] = t[ZYDIS_MNEMONIC_FMULP] = t[ZYDIS_MNEMONIC_FIMUL] = FARITH<Op::kMul>;
  t[ZYDIS_MNEMONIC_FDIV] = t[ZYDIS_MNEMONIC_FDIVP] = t[ZYDIS_MNEMONIC_FIDIV] = FARITH<Op::kDiv>;
  t[ZYDIS_MNEMONIC_FDIVR] = t[ZYDIS_MNEMONIC_FDIVRP] = t[ZYDIS_MNEMONIC_FIDIVR] = FARITH<Op::kDivr>;
  t[ZYDIS_MNEMONIC_FCHS] = FCHS;
  t[ZYDIS_MNEMONIC_FABS] = FABS;
  t[ZYDIS_MNEMONIC_FSQRT] = FSQRT;
  t[ZYDIS_MNEMONIC_FRNDINT] = FRNDINT;
  t[ZYDIS_MNEMONIC_FTST] = FTST;
  t[ZYDIS_MNEMONIC_FXAM] = FXAM;
  t[ZYDIS_MNEMONIC_FCOM] = FCOM<true, 0>;
  t[ZYDIS_MNEMONIC_FCOMP] = FCOM<true, 1>;
  t[ZYDIS_MNEMONIC_FCOMPP] = FCOM<true, 2>;
  t[ZYDIS_MNEMONIC_FUCOM] = FCOM<false, 0>;
  t[ZYDIS_MNEMONIC_FUCOMP] = FCOM<false, 1>;
  t[ZYDIS_MNEMONIC_FUCOMPP] = FCOM<false, 2>;
  t[ZYDIS_MNEMONIC_FCOMI] = FCOMI<true, false>;
  t[ZYDIS_MNEMONIC_FCOMIP] = FCOMI<true, true>;
  t[ZYDIS_MNEMONIC_FUCOMI] = FCOMI<false, false>;
  t[ZYDIS_MNEMONIC_FUCOMIP] = FCOMI<false, true>;
}

}  // namespace vessel::engine::emu::interp
