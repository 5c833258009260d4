// Binary arithmetic, logic, data transfer and flag-control instructions (SDM Vol. 1 §7.3.1-7.3.2,
// 7.3.5-7.3.6, 7.3.13; Vol. 2 instruction pages). Flags come from the host (alu_ops.hpp).
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

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

using Op2 = uint64_t (*)(uint64_t, uint64_t, unsigned, uint64_t&);

// ADD/OR/ADC/SBB/AND/SUB/XOR (kWrite) and CMP/TEST (no write back).
template <Op2 OP, bool kWrite>
void alu2(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint64_t src = read_op_sized(c, in, 1, size);
  const uint64_t fin = flags_in(c);
  uint64_t fo = fin;
  rmw(
      c, in,
      [&](uint64_t old) {
        fo = fin;
        return OP(old, src, size, fo);
      },
      kWrite);
  flags_out(c, fo);
}

template <int kKind>  // 0 inc, 1 dec, 2 neg, 3 not
void alu1(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint64_t fin = flags_in(c);
  uint64_t fo = fin;
  rmw(c, in, [&](uint64_t old) {
    fo = fin;
    if constexpr (kKind == 0 || kKind == 1) return inc_dec(old, size, kKind == 1, fo);
    if constexpr (kKind == 2) {
      if (fresh_flags_ok()) return VESSEL_SIZED(size, f_neg, old, fo);
      return VESSEL_SIZED(size, h_neg, old, fo);
    }
    return ~old & size_mask(size);
  });
  if constexpr (kKind != 3) flags_out(c, fo);
}

void mul_like(Cpu& c, const DecodedInst& in, bool is_signed) {
  const unsigned size = in.ops[0].size;
  const uint64_t src = read_op(c, in, 0);
  uint64_t fl = flags_in(c);
  if (size == 1) {
    const uint16_t ax = is_signed ? h_imul8(c.st.gpr[kRax] & 0xff, static_cast<uint8_t>(src), fl)
                                  : h_mul8(c.st.gpr[kRax] & 0xff, static_cast<uint8_t>(src), fl);
    set_gpr(c, kRax, 2, ax);
  } else {
    uint64_t lo = c.st.gpr[kRax], hi = 0;
    auto run = [&]<class T>(T) {
      T l = static_cast<T>(lo), h = 0;
      if (is_signed)
        h_imul1<T>(l, h, static_cast<T>(src), fl);
      else
        h_mul<T>(l, h, static_cast<T>(src), fl);
      lo = l;
      hi = h;
    };
    if (size == 2)
      run(uint16_t{});
    else if (size == 4)
      run(uint32_t{});
    else
      run(uint64_t{});
    set_gpr(c, kRax, size, lo);
    set_gpr(c, kRdx, size, hi);
  }
  flags_out(c, fl);
}

void MUL(Cpu& c, const DecodedInst& in) {
  mul_like(c, in, false);
}

void IMUL(Cpu& c, const DecodedInst& in) {
  if (in.num_operands == 1) return mul_like(c, in, true);
  const unsigned size = in.ops[0].size;
  const uint64_t a = read_op_sized(c, in, in.num_operands == 3 ? 1 : 0, size);
  const uint64_t b = read_op_sized(c, in, in.num_operands == 3 ? 2 : 1, size);
  uint64_t fl = flags_in(c);
  const uint64_t r = fresh_flags_ok() ? VESSEL_SIZED_W(size, f_imul2, a, b, fl)
                                      : VESSEL_SIZED_W(size, h_imul2, a, b, fl);
  set_gpr(c, in.ops[0].reg, size, r);
  flags_out(c, fl);
}

// DIV/IDIV (SDM Vol. 2A): #DE for a zero divisor or a quotient that does not fit.
void div_like(Cpu& c, const DecodedInst& in, bool is_signed) {
  const unsigned size = in.ops[0].size;
  const uint64_t d = read_op(c, in, 0);
  if (d == 0) raise(vec::kDE);
  const unsigned bits = 8 * size;
  __extension__ typedef unsigned __int128 u128;
  __extension__ typedef __int128 i128;
  u128 dividend;
  if (size == 1)
    dividend = c.st.gpr[kRax] & 0xffff;
  else
    dividend = (u128(get_gpr(c, kRdx, size)) << bits) | get_gpr(c, kRax, size);
  uint64_t q, r;
  if (!is_signed) {
    const u128 qq = dividend / d;
    if (qq > size_mask(size)) raise(vec::kDE);
    q = static_cast<uint64_t>(qq);
    r = static_cast<uint64_t>(dividend % d);
  } else {
    // Sign-extend the 2*bits dividend to 128 bits.
    const unsigned shift = 128 - 2 * bits;
    const i128 sd = static_cast<i128>(dividend << shift) >> shift;
    const i128 sv = sign_extend(d, size);
    const i128 qq = sd / sv;
    const i128 lim = i128(1) << (bits - 1);
    if (qq >= lim || qq < -lim) raise(vec::kDE);
    q = static_cast<uint64_t>(qq) & size_mask(size);
    r = static_cast<uint64_t>(sd % sv) & size_mask(size);
  }
  // Flags are undefined: take the host's for the same (valid) division.
  uint64_t fl = flags_in(c);
  if (size == 1) {
    uint16_t lo = static_cast<uint16_t>(dividend), hi = 0, dv = static_cast<uint16_t>(d);
    if (is_signed) {
      lo = static_cast<uint16_t>(sign_extend(dividend & 0xffff, 2));
      hi = (lo & 0x8000) ? 0xffff : 0;
      dv = static_cast<uint16_t>(sign_extend(d, 1));
      h_idiv<uint16_t>(lo, hi, dv, fl);
    } else {
      h_div<uint16_t>(lo, hi, dv, fl);
    }
    set_gpr(c, kRax, 2, (r << 8) | q);
  } else {
    auto run = [&]<class T>(T) {
      T lo = static_cast<T>(get_gpr(c, kRax, size)), hi = static_cast<T>(get_gpr(c, kRdx, size));
      if (is_signed)
        h_idiv<T>(lo, hi, static_cast<T>(d), fl);
      else
        h_div<T>(lo, hi, static_cast<T>(d), fl);
    };
    if (size == 2)
      run(uint16_t{});
    else if (size == 4)
      run(uint32_t{});
    else
      run(uint64_t{});
    set_gpr(c, kRax, size, q);
    set_gpr(c, kRdx, size, r);
  }
  flags_out(c, fl);
}
void DIV(Cpu& c, const DecodedInst& in) {
  div_like(c, in, false);
}
void IDIV(Cpu& c, const DecodedInst& in) {
  div_like(c, in, true);
}

void MOV_plain(Cpu& c, const DecodedInst& in) {
  write_op(c, in, 0, read_op_sized(c, in, 1, in.ops[0].size));
}
void MOVZX(Cpu& c, const DecodedInst& in) {
  write_op(c, in, 0, read_op(c, in, 1));
}
void MOVSX(Cpu& c, const DecodedInst& in) {
  write_op(c, in, 0, static_cast<uint64_t>(sign_extend(read_op(c, in, 1), in.ops[1].size)));
}
void LEA(Cpu& c, const DecodedInst& in) {
  set_gpr(c, in.ops[0].reg, in.ops[0].size, effective_address(c, in, in.ops[1]));
}

void XCHG(Cpu& c, const DecodedInst& in) {
  // With a memory operand XCHG is locked whatever the prefix (SDM Vol. 2B XCHG).
  const int mem = in.ops[0].kind == OpKind::kMem ? 0 : in.ops[1].kind == OpKind::kMem ? 1 : -1;
  const unsigned size = in.ops[0].size;
  if (mem < 0) {
    const uint64_t a = read_op(c, in, 0), b = read_op(c, in, 1);
    write_op(c, in, 0, b);
    write_op(c, in, 1, a);
    return;
  }
  DecodedInst locked = in;
  locked.prefixes |= x86::prefix::kLock;
  if (mem == 1) std::swap(locked.ops[0], locked.ops[1]);
  const uint64_t reg = get_gpr(c, locked.ops[1].reg, size);
  uint64_t old = 0;
  rmw(c, locked, [&](uint64_t o) {
    old = o;
    return reg;
  });
  set_gpr(c, locked.ops[1].reg, size, old);
}

void XADD(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint64_t src = get_gpr(c, in.ops[1].reg, size);
  const uint64_t fin = flags_in(c);
  uint64_t fo = fin, old = 0, sum = 0;
  rmw(c, in, [&](uint64_t o) {
    old = o;
    fo = fin;
    return sum = add_n(o, src, size, fo);
  });
  set_gpr(c, in.ops[1].reg, size, old);
  // SRC <- DEST, then DEST <- SUM (SDM Vol. 2B XADD): `xadd r, r` leaves the sum.
  if (in.ops[0].kind == x86::OpKind::kGpr && in.ops[0].reg == in.ops[1].reg)
    set_gpr(c, in.ops[0].reg, size, sum);
  flags_out(c, fo);
}

void CMPXCHG(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint64_t acc = get_gpr(c, kRax, size), src = get_gpr(c, in.ops[1].reg, size);
  const uint64_t fin = flags_in(c);
  uint64_t fo = fin, old = 0;
  // A register destination is not written on mismatch: a 32-bit one keeps its upper half
  // (observed on Intel hardware through KVM by the differential tests, tests/diff).
  if (in.ops[0].kind == x86::OpKind::kGpr) {
    old = get_gpr(c, in.ops[0].reg, size);
    sub_n(acc, old, size, fo);
    if (old == acc)
      set_gpr(c, in.ops[0].reg, size, src);
    else
      set_gpr(c, kRax, size, old);
    flags_out(c, fo);
    return;
  }
  // A memory destination is always written (with its old value on mismatch), as on hardware.
  rmw(c, in, [&](uint64_t o) {
    old = o;
    fo = fin;
    sub_n(acc, o, size, fo);
    return o == acc ? src : o;
  });
  if (old != acc) set_gpr(c, kRax, size, old);
  flags_out(c, fo);
}

// CMPXCHG8B/16B: m64/m128 against EDX:EAX / RDX:RAX, atomic on guest RAM whether or not the
// guest wrote LOCK (a stronger guarantee than the hardware's, and the one guests rely on).
void CMPXCHG8B(Cpu& c, const DecodedInst& in) {
  DecodedInst q = in;
  q.ops[0].size = 8;
  q.prefixes |= x86::prefix::kLock;
  const uint64_t expect = (get_gpr(c, kRdx, 4) << 32) | get_gpr(c, kRax, 4);
  const uint64_t repl = (get_gpr(c, kRcx, 4) << 32) | get_gpr(c, kRbx, 4);
  uint64_t old = 0;
  rmw(c, q, [&](uint64_t o) {
    old = o;
    return o == expect ? repl : o;
  });
  if (old == expect) {
    c.st.rflags |= rflags::kZF;
  } else {
    c.st.rflags &= ~rflags::kZF;
    set_gpr(c, kRax, 4, old & 0xffffffff);
    set_gpr(c, kRdx, 4, old >> 32);
  }
}

// The host's LOCK CMPXCHG16B on a 16-byte aligned host pointer: true when it matched (and
// stored nlo/nhi); lo/hi come back with the memory's old value either way.
bool host_cas16(uint8_t* p, uint64_t& lo, uint64_t& hi, uint64_t nlo, uint64_t nhi) {
  bool ok;
  asm volatile("lock cmpxchg16b %[m]"
               : [m] "+m"(*reinterpret_cast<uint64_t(*)[2]>(p)), "+a"(lo), "+d"(hi), "=@ccz"(ok)
               : "b"(nlo), "c"(nhi)
               : "memory");
  return ok;
}

// #GP(0) on a linear address not 16-byte aligned (SDM Vol. 2A CMPXCHG8B/CMPXCHG16B). On RAM a
// single host LOCK CMPXCHG16B, so other vCPUs see all or nothing; on MMIO read-compare-write.
void CMPXCHG16B(Cpu& c, const DecodedInst& in) {
  const int seg = in.ops[0].seg;
  const uint64_t off = effective_address(c, in, in.ops[0]);
  const uint64_t la = c.linear(seg, off, 16, Access::kWrite);
  if (la & 15) raise(vec::kGP, 0);
  uint64_t lo = c.st.gpr[kRax], hi = c.st.gpr[kRdx];
  bool equal;
  if (uint8_t* h = c.host_for_write(la, 16, c.cpl() == 3)) {
    equal = host_cas16(h, lo, hi, c.st.gpr[kRbx], c.st.gpr[kRcx]);
  } else {
    c.probe_write(seg, off, 16);
    const uint64_t mlo = c.read(seg, off, 8), mhi = c.read(seg, off + 8, 8);
    equal = mlo == lo && mhi == hi;
    c.write(seg, off, 8, equal ? c.st.gpr[kRbx] : mlo);      // written back either way, as on
    c.write(seg, off + 8, 8, equal ? c.st.gpr[kRcx] : mhi);  // hardware
    lo = mlo;
    hi = mhi;
  }
  if (equal) {
    c.st.rflags |= rflags::kZF;
  } else {
    c.st.rflags &= ~rflags::kZF;
    c.st.gpr[kRax] = lo;
    c.st.gpr[kRdx] = hi;
  }
}

void BSWAP(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint64_t v = get_gpr(c, in.ops[0].reg, size);
  // 16-bit BSWAP is undefined; Intel hardware writes 0 to the low word.
  const uint64_t r = size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32(v) : 0;
  set_gpr(c, in.ops[0].reg, size, r);
}

void CMOVcc(Cpu& c, const DecodedInst& in) {
  const uint64_t v = read_op(c, in, 1);  // the source is read (and may fault) either way
  const unsigned size = in.ops[0].size;
  if (condition(c.st.rflags, in.opcode & 0xf))
    set_gpr(c, in.ops[0].reg, size, v);
  else if (size == 4)
    set_gpr(c, in.ops[0].reg, 4, get_gpr(c, in.ops[0].reg, 4));
}
void SETcc(Cpu& c, const DecodedInst& in) {
  write_op(c, in, 0, condition(c.st.rflags, in.opcode & 0xf) ? 1 : 0);
}

void CBW(Cpu& c, const DecodedInst& in) {  // CBW/CWDE/CDQE by operand size
  const unsigned s = in.opsize;
  set_gpr(c, kRax, s, static_cast<uint64_t>(sign_extend(get_gpr(c, kRax, s / 2), s / 2)));
}
void CWD(Cpu& c, const DecodedInst& in) {  // CWD/CDQ/CQO
  const unsigned s = in.opsize;
  set_gpr(c, kRdx, s, (get_gpr(c, kRax, s) & sign_bit(s)) ? ~0ull : 0);
}

void NOP(Cpu&, const DecodedInst&) {}
void LAHF(Cpu& c, const DecodedInst&) {
  set_gpr(c, 16 + kRax, 1, c.st.rflags & 0xd7);
}
void SAHF(Cpu& c, const DecodedInst&) {
  flags_out(c, (c.st.gpr[kRax] >> 8) | 2, 0xd5);
}
template <uint64_t kFlag, int kOp>  // 0 clear, 1 set, 2 complement
void flag_op(Cpu& c, const DecodedInst&) {
  if constexpr (kOp == 0) c.st.rflags &= ~kFlag;
  if constexpr (kOp == 1) c.st.rflags |= kFlag;
  if constexpr (kOp == 2) c.st.rflags ^= kFlag;
}

}  // namespace

void register_alu(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_ADD] = alu2<add_n, true>;
  t[ZYDIS_MNEMONIC_OR] = alu2<or_n, true>;
  t[ZYDIS_MNEMONIC_ADC] = alu2<adc_n, true>;
  t[ZYDIS_MNEMONIC_SBB] = alu2<sbb_n, true>;
  t[ZYDIS_MNEMONIC_AND] = alu2<and_n, true>;
  t[ZYDIS_MNEMONIC_SUB] = alu2<sub_n, true>;
  t[ZYDIS_MNEMONIC_XOR] = alu2<xor_n, true>;
  t[ZYDIS_MNEMONIC_CMP] = alu2<sub_n, false>;
  t[ZYDIS_MNEMONIC_TEST] = alu2<and_n, false>;
  t[ZYDIS_MNEMONIC_INC] = alu1<0>;
  t[ZYDIS_MNEMONIC_DEC] = alu1<1>;
  t[ZYDIS_MNEMONIC_NEG] = alu1<2>;
  t[ZYDIS_MNEMONIC_NOT] = alu1<3>;
  t[ZYDIS_MNEMONIC_MUL] = MUL;
  t[ZYDIS_MNEMONIC_IMUL] = IMUL;
  t[ZYDIS_MNEMONIC_DIV] = DIV;
  t[ZYDIS_MNEMONIC_IDIV] = IDIV;
  t[ZYDIS_MNEMONIC_MOV] = MOV_plain;  // replaced by register_system with the full form
  t[ZYDIS_MNEMONIC_MOVZX] = MOVZX;
  t[ZYDIS_MNEMONIC_MOVSX] = MOVSX;
  t[ZYDIS_MNEMONIC_MOVSXD] = MOVSX;
  t[ZYDIS_MNEMONIC_LEA] = LEA;
  t[ZYDIS_MNEMONIC_XCHG] = XCHG;
  t[ZYDIS_MNEMONIC_XADD] = XADD;
  t[ZYDIS_MNEMONIC_CMPXCHG] = CMPXCHG;
  t[ZYDIS_MNEMONIC_CMPXCHG8B] = CMPXCHG8B;
  t[ZYDIS_MNEMONIC_CMPXCHG16B] = CMPXCHG16B;
  t[ZYDIS_MNEMONIC_BSWAP] = BSWAP;
  for (int m :
       {ZYDIS_MNEMONIC_CMOVB, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVLE,
        ZYDIS_MNEMONIC_CMOVNB, ZYDIS_MNEMONIC_CMOVNBE, ZYDIS_MNEMONIC_CMOVNL,
        ZYDIS_MNEMONIC_CMOVNLE, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVNP, ZYDIS_MNEMONIC_CMOVNS,
        ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVP, ZYDIS_MNEMONIC_CMOVS,
        ZYDIS_MNEMONIC_CMOVZ})
    t[m] = CMOVcc;
  for (int m :
       {ZYDIS_MNEMONIC_SETB, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETLE,
        ZYDIS_MNEMONIC_SETNB, ZYDIS_MNEMONIC_SETNBE, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETNLE,
        ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETNP, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETNZ,
        ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETP, ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETZ})
    t[m] = SETcc;
  t[ZYDIS_MNEMONIC_CBW] = t[ZYDIS_MNEMONIC_CWDE] = t[ZYDIS_MNEMONIC_CDQE] = CBW;
  t[ZYDIS_MNEMONIC_CWD] = t[ZYDIS_MNEMONIC_CDQ] = t[ZYDIS_MNEMONIC_CQO] = CWD;
  t[ZYDIS_MNEMONIC_NOP] = t[ZYDIS_MNEMONIC_PAUSE] = NOP;
  t[ZYDIS_MNEMONIC_LFENCE] = t[ZYDIS_MNEMONIC_MFENCE] = t[ZYDIS_MNEMONIC_SFENCE] = NOP;
  t[ZYDIS_MNEMONIC_PREFETCHNTA] = t[ZYDIS_MNEMONIC_PREFETCHT0] = NOP;
  t[ZYDIS_MNEMONIC_PREFETCHT1] = t[ZYDIS_MNEMONIC_PREFETCHT2] = NOP;
  // CET lives in the hint-NOP space (0F 1E): without CET in CPUID, ENDBR and RDSSP execute as
  // NOPs (RDSSP leaves its register unchanged), which is what CET-built binaries rely on.
  t[ZYDIS_MNEMONIC_ENDBR32] = t[ZYDIS_MNEMONIC_ENDBR64] = NOP;
  t[ZYDIS_MNEMONIC_RDSSPD] = t[ZYDIS_MNEMONIC_RDSSPQ] = NOP;
  t[ZYDIS_MNEMONIC_LAHF] = LAHF;
  t[ZYDIS_MNEMONIC_SAHF] = SAHF;
  t[ZYDIS_MNEMONIC_CLC] = flag_op<rflags::kCF, 0>;
  t[ZYDIS_MNEMONIC_STC] = flag_op<rflags::kCF, 1>;
  t[ZYDIS_MNEMONIC_CMC] = flag_op<rflags::kCF, 2>;
  t[ZYDIS_MNEMONIC_CLD] = flag_op<rflags::kDF, 0>;
  t[ZYDIS_MNEMONIC_STD] = flag_op<rflags::kDF, 1>;
}

}  // namespace vessel::engine::emu::interp
