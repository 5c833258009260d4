// Flag-exact arithmetic by running the host's own instruction: the guest's arithmetic flags
// are loaded into the host RFLAGS (POPFQ), the operation runs, and the host RFLAGS come back
// (PUSHFQ). The results, including flags the SDM leaves undefined (shift/rotate OF for counts
// > 1, MUL's SF/ZF/PF/AF, BSF/BSR's flags, DIV's flags), are then exactly those of the host CPU,
// which is what the differential tests compare against. Requires an x86-64 host with
// LZCNT/TZCNT/POPCNT (ABM/BMI1).
//
// The asm steps 128 bytes below RSP first: the System V red zone may hold live data.
#pragma once

#include <cstdint>

namespace vessel::engine::emu::interp {

// The arithmetic flags (CF PF AF ZF SF OF) and the always-1 bit.
inline constexpr uint64_t kArithFlags = 0x8d5;

#define VESSEL_FLAGS_PROLOGUE "lea -128(%%rsp), %%rsp\n\tpushq %[f]\n\tpopfq\n\t"
#define VESSEL_FLAGS_EPILOGUE "\n\tpushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"

// dst = dst OP src (ADD, OR, ADC, SBB, AND, SUB, XOR, CMP's SUB, TEST's AND, IMUL r,r/m, ...)
#define VESSEL_OP2(NAME, INSN)                                         \
  template <class T>                                                   \
  inline T NAME(T a, T b, uint64_t& fl) {                              \
    asm(VESSEL_FLAGS_PROLOGUE INSN " %[b], %[a]" VESSEL_FLAGS_EPILOGUE \
        : [a] "+q"(a), [f] "+r"(fl)                                    \
        : [b] "q"(b)                                                   \
        : "cc");                                                       \
    return a;                                                          \
  }
// dst = OP dst (INC, DEC, NEG, NOT)
#define VESSEL_OP1(NAME, INSN)                                   \
  template <class T>                                             \
  inline T NAME(T a, uint64_t& fl) {                             \
    asm(VESSEL_FLAGS_PROLOGUE INSN " %[a]" VESSEL_FLAGS_EPILOGUE \
        : [a] "+q"(a), [f] "+r"(fl)                              \
        :                                                        \
        : "cc");                                                 \
    return a;                                                    \
  }
// dst = dst OP cl (shifts and rotates; the host masks the count as the guest's CPU does)
#define VESSEL_SHIFT(NAME, INSN)                                       \
  template <class T>                                                   \
  inline T NAME(T a, uint8_t count, uint64_t& fl) {                    \
    asm(VESSEL_FLAGS_PROLOGUE INSN " %%cl, %[a]" VESSEL_FLAGS_EPILOGUE \
        : [a] "+q"(a), [f] "+r"(fl)                                    \
        : "c"(count)                                                   \
        : "cc");                                                       \
    return a;                                                          \
  }
// dst = SHLD/SHRD(dst, src, cl)
#define VESSEL_SHIFT_D(NAME, INSN)                                           \
  template <class T>                                                         \
  inline T NAME(T a, T b, uint8_t count, uint64_t& fl) {                     \
    asm(VESSEL_FLAGS_PROLOGUE INSN " %%cl, %[b], %[a]" VESSEL_FLAGS_EPILOGUE \
        : [a] "+r"(a), [f] "+r"(fl)                                          \
        : [b] "r"(b), "c"(count)                                             \
        : "cc");                                                             \
    return a;                                                                \
  }

VESSEL_OP2(h_add, "add")
VESSEL_OP2(h_or, "or")
VESSEL_OP2(h_adc, "adc")
VESSEL_OP2(h_sbb, "sbb")
VESSEL_OP2(h_and, "and")
VESSEL_OP2(h_sub, "sub")
VESSEL_OP2(h_xor, "xor")
VESSEL_OP2(h_imul2, "imul")  // 16/32/64-bit only
VESSEL_OP2(h_bsf, "bsf")     // 16/32/64-bit only; source 0 leaves the destination
VESSEL_OP2(h_bsr, "bsr")
VESSEL_OP2(h_tzcnt, "tzcnt")
VESSEL_OP2(h_lzcnt, "lzcnt")
VESSEL_OP2(h_popcnt, "popcnt")
VESSEL_OP2(h_bt, "bt")
VESSEL_OP2(h_bts, "bts")
VESSEL_OP2(h_btr, "btr")
VESSEL_OP2(h_btc, "btc")
VESSEL_OP1(h_inc, "inc")
VESSEL_OP1(h_dec, "dec")
VESSEL_OP1(h_neg, "neg")
VESSEL_SHIFT(h_shl, "shl")
VESSEL_SHIFT(h_shr, "shr")
VESSEL_SHIFT(h_sar, "sar")
VESSEL_SHIFT(h_rol, "rol")
VESSEL_SHIFT(h_ror, "ror")
VESSEL_SHIFT(h_rcl, "rcl")
VESSEL_SHIFT(h_rcr, "rcr")
VESSEL_SHIFT_D(h_shld, "shld")
VESSEL_SHIFT_D(h_shrd, "shrd")

// One-operand MUL/IMUL: (hi:lo) = lo * b. For bytes, lo carries AX in and out.
#define VESSEL_MUL1(NAME, INSN)                                  \
  template <class T>                                             \
  inline void NAME(T& lo, T& hi, T b, uint64_t& fl) {            \
    asm(VESSEL_FLAGS_PROLOGUE INSN " %[b]" VESSEL_FLAGS_EPILOGUE \
        : "+a"(lo), "=d"(hi), [f] "+r"(fl)                       \
        : [b] "r"(b)                                             \
        : "cc");                                                 \
  }
VESSEL_MUL1(h_mul, "mul")
VESSEL_MUL1(h_imul1, "imul")
#define VESSEL_MUL8(NAME, INSN)                                  \
  inline uint16_t NAME(uint16_t ax, uint8_t b, uint64_t& fl) {   \
    asm(VESSEL_FLAGS_PROLOGUE INSN " %[b]" VESSEL_FLAGS_EPILOGUE \
        : "+a"(ax), [f] "+r"(fl)                                 \
        : [b] "q"(b)                                             \
        : "cc");                                                 \
    return ax;                                                   \
  }
VESSEL_MUL8(h_mul8, "mulb")
VESSEL_MUL8(h_imul8, "imulb")

// DIV/IDIV once the caller has ruled out #DE (divisor 0, quotient overflow); only for the
// flags, which the SDM leaves undefined.
#define VESSEL_DIV(NAME, INSN)                                   \
  template <class T>                                             \
  inline void NAME(T& lo, T& hi, T b, uint64_t& fl) {            \
    asm(VESSEL_FLAGS_PROLOGUE INSN " %[b]" VESSEL_FLAGS_EPILOGUE \
        : "+a"(lo), "+d"(hi), [f] "+r"(fl)                       \
        : [b] "r"(b)                                             \
        : "cc");                                                 \
  }
VESSEL_DIV(h_div, "div")
VESSEL_DIV(h_idiv, "idiv")

// "Fresh" forms for operations whose arithmetic flags do not depend on the flags they start
// with (every flag they write is a function of the operands on this host): the same host
// instruction without the POPFQ, which costs more than the operation itself. Used only when
// fresh_flags_ok() (flags_probe.cpp) found the host's outputs independent of its inputs; the
// caller merges only the flags the instruction writes (ROL/ROR: CF and OF) and handles count-0
// shifts itself (flags unchanged).
#define VESSEL_FRESH_EPILOGUE \
  "\n\tlea -128(%%rsp), %%rsp\n\tpushfq\n\tpopq %[f]\n\tlea 128(%%rsp), %%rsp"
#define VESSEL_FRESH_OP2(NAME, INSN)                                                               \
  template <class T>                                                                               \
  inline T NAME(T a, T b, uint64_t& fl) {                                                          \
    asm(INSN " %[b], %[a]" VESSEL_FRESH_EPILOGUE : [a] "+q"(a), [f] "=r"(fl) : [b] "q"(b) : "cc"); \
    return a;                                                                                      \
  }
#define VESSEL_FRESH_OP1(NAME, INSN)                                              \
  template <class T>                                                              \
  inline T NAME(T a, uint64_t& fl) {                                              \
    asm(INSN " %[a]" VESSEL_FRESH_EPILOGUE : [a] "+q"(a), [f] "=r"(fl) : : "cc"); \
    return a;                                                                     \
  }
#define VESSEL_FRESH_SHIFT(NAME, INSN)                                                             \
  template <class T>                                                                               \
  inline T NAME(T a, uint8_t count, uint64_t& fl) {                                                \
    asm(INSN " %%cl, %[a]" VESSEL_FRESH_EPILOGUE : [a] "+q"(a), [f] "=r"(fl) : "c"(count) : "cc"); \
    return a;                                                                                      \
  }
VESSEL_FRESH_OP2(f_add, "add")
VESSEL_FRESH_OP2(f_or, "or")
VESSEL_FRESH_OP2(f_and, "and")
VESSEL_FRESH_OP2(f_sub, "sub")
VESSEL_FRESH_OP2(f_xor, "xor")
VESSEL_FRESH_OP2(f_imul2, "imul")  // 16/32/64-bit only
VESSEL_FRESH_OP1(f_neg, "neg")
VESSEL_FRESH_SHIFT(f_shl, "shl")  // count != 0 (after masking) only
VESSEL_FRESH_SHIFT(f_shr, "shr")
VESSEL_FRESH_SHIFT(f_sar, "sar")
VESSEL_FRESH_SHIFT(f_rol, "rol")
VESSEL_FRESH_SHIFT(f_ror, "ror")
#undef VESSEL_FRESH_OP2
#undef VESSEL_FRESH_OP1
#undef VESSEL_FRESH_SHIFT
#undef VESSEL_FRESH_EPILOGUE

// True when the fresh forms above give the same flags as the POPFQ forms whatever the input
// flags (probed once at start-up on this host, flags_probe.cpp).
extern const bool g_fresh_flags_ok;
inline bool fresh_flags_ok() {
  return g_fresh_flags_ok;
}

#undef VESSEL_OP2
#undef VESSEL_OP1
#undef VESSEL_SHIFT
#undef VESSEL_SHIFT_D
#undef VESSEL_MUL1
#undef VESSEL_MUL8
#undef VESSEL_DIV

// INC/DEC in plain C++: every flag they write is defined (SDM Vol. 2A INC, DEC) and CF is
// kept, so no host instruction (and no POPFQ to load CF) is needed.
inline uint64_t inc_dec(uint64_t a, unsigned size, bool dec, uint64_t& fl) {
  constexpr uint64_t kCF = 1, kPF = 4, kAF = 0x10, kZF = 0x40, kSF = 0x80, kOF = 0x800;
  const uint64_t sb = 1ull << (8 * size - 1), m = sb | (sb - 1);
  const uint64_t r = (dec ? a - 1 : a + 1) & m;
  uint64_t f = fl & kCF;
  if (r == (dec ? sb - 1 : sb)) f |= kOF;
  if (r & sb) f |= kSF;
  if (r == 0) f |= kZF;
  if (((a ^ r) & 0x10) != 0) f |= kAF;  // carry/borrow out of bit 3 (operand 1 has bit 4 clear)
  if (!__builtin_parity(r & 0xff)) f |= kPF;
  fl = f | 2;
  return r;
}

// Runs a host operation template at the width `size` (1, 2, 4, 8 bytes).
#define VESSEL_SIZED(size, F, ...)                    \
  ((size) == 1   ? uint64_t(F<uint8_t>(__VA_ARGS__))  \
   : (size) == 2 ? uint64_t(F<uint16_t>(__VA_ARGS__)) \
   : (size) == 4 ? uint64_t(F<uint32_t>(__VA_ARGS__)) \
                 : uint64_t(F<uint64_t>(__VA_ARGS__)))

}  // namespace vessel::engine::emu::interp

namespace vessel::engine::emu::interp {
// The same for operations without a byte form (16/32/64 bits).
#define VESSEL_SIZED_W(size, F, ...)                  \
  ((size) == 2   ? uint64_t(F<uint16_t>(__VA_ARGS__)) \
   : (size) == 4 ? uint64_t(F<uint32_t>(__VA_ARGS__)) \
                 : uint64_t(F<uint64_t>(__VA_ARGS__)))

// Two-operand ALU operations at a run-time width, in their fresh form when the host allows:
// result = a OP b, with the arithmetic flags in and out through `f`.
#define VESSEL_N2(NAME, H, F)                                                                    \
  [[gnu::always_inline]] inline uint64_t NAME(uint64_t a, uint64_t b, unsigned s, uint64_t& f) { \
    if (fresh_flags_ok()) return VESSEL_SIZED(s, F, a, b, f);                                    \
    return VESSEL_SIZED(s, H, a, b, f);                                                          \
  }
VESSEL_N2(add_n, h_add, f_add)
VESSEL_N2(or_n, h_or, f_or)
VESSEL_N2(adc_n, h_adc, h_adc)  // reads CF: always the POPFQ form
VESSEL_N2(sbb_n, h_sbb, h_sbb)
VESSEL_N2(and_n, h_and, f_and)
VESSEL_N2(sub_n, h_sub, f_sub)
VESSEL_N2(xor_n, h_xor, f_xor)
#undef VESSEL_N2
}  // namespace vessel::engine::emu::interp
