// Binary arithmetic and logic, data transfer, conditional moves and flag-control instructions
// (SDM Vol. 1 §7.3.1-7.3.2, 7.3.5, 7.3.13; Vol. 2 instruction pages). Flags come from the host
// (alu_ops.hpp). Multiply/divide are in muldiv.cpp, the exchanges in exchange.cpp.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

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
  t[ZYDIS_MNEMONIC_MOV] = MOV_plain;  // replaced by register_system with the full form
  t[ZYDIS_MNEMONIC_MOVZX] = MOVZX;
  t[ZYDIS_MNEMONIC_MOVSX] = MOVSX;
  t[ZYDIS_MNEMONIC_MOVSXD] = MOVSX;
  t[ZYDIS_MNEMONIC_LEA] = LEA;
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
