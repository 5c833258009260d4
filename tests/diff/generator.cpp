#include "generator.hpp"

#include <random>

#include "assembler.hpp"

namespace vessel::difftest {
namespace {

using Z = ZydisMnemonic;
constexpr ZydisRegister kBase = ZYDIS_REGISTER_R15;  // holds kScratch (kScratchBaseReg)

constexpr Z kCmov[16] = {
    ZYDIS_MNEMONIC_CMOVO, ZYDIS_MNEMONIC_CMOVNO, ZYDIS_MNEMONIC_CMOVB,  ZYDIS_MNEMONIC_CMOVNB,
    ZYDIS_MNEMONIC_CMOVZ, ZYDIS_MNEMONIC_CMOVNZ, ZYDIS_MNEMONIC_CMOVBE, ZYDIS_MNEMONIC_CMOVNBE,
    ZYDIS_MNEMONIC_CMOVS, ZYDIS_MNEMONIC_CMOVNS, ZYDIS_MNEMONIC_CMOVP,  ZYDIS_MNEMONIC_CMOVNP,
    ZYDIS_MNEMONIC_CMOVL, ZYDIS_MNEMONIC_CMOVNL, ZYDIS_MNEMONIC_CMOVLE, ZYDIS_MNEMONIC_CMOVNLE};
constexpr Z kSet[16] = {
    ZYDIS_MNEMONIC_SETO, ZYDIS_MNEMONIC_SETNO, ZYDIS_MNEMONIC_SETB,  ZYDIS_MNEMONIC_SETNB,
    ZYDIS_MNEMONIC_SETZ, ZYDIS_MNEMONIC_SETNZ, ZYDIS_MNEMONIC_SETBE, ZYDIS_MNEMONIC_SETNBE,
    ZYDIS_MNEMONIC_SETS, ZYDIS_MNEMONIC_SETNS, ZYDIS_MNEMONIC_SETP,  ZYDIS_MNEMONIC_SETNP,
    ZYDIS_MNEMONIC_SETL, ZYDIS_MNEMONIC_SETNL, ZYDIS_MNEMONIC_SETLE, ZYDIS_MNEMONIC_SETNLE};

class Gen {
 public:
  explicit Gen(uint64_t id) : rng_(id) {}

  TestCase build(uint64_t id) {
    TestCase tc;
    tc.id = id;
    for (auto& r : tc.gpr) r = value();
    for (size_t i = 0; i < kPageSize; i += 8) {
      const uint64_t v = pct(30) ? value() : rng_();
      for (int b = 0; b < 8; ++b) tc.scratch[i + b] = static_cast<uint8_t>(v >> (8 * b));
    }
    for (auto& b : tc.stack) b = static_cast<uint8_t>(rng_());
    tc.rflags = 0x202 | (rng_() & flag::kAll);
    const unsigned items = 1 + static_cast<unsigned>(pct(70) ? rnd(8) : rnd(24));
    for (unsigned i = 0; i < items; ++i) item(a_, true);
    tc.undefined_flags = a_.taint;
    if (pct(2)) {
      divide_fault(a_);
      tc.may_fault = true;
      tc.undefined_flags = a_.taint;
    }
    tc.code = a_.code;
    return tc;
  }

 private:
  std::mt19937_64 rng_;
  Assembler a_;

  uint64_t rnd(uint64_t n) { return rng_() % n; }
  bool pct(unsigned p) { return rnd(100) < p; }
  unsigned size() { return 1u << rnd(4); }
  unsigned wide() { return 2u << rnd(3); }  // 2, 4, 8
  // Destinations never include RSP (4) or R15 (the scratch base).
  unsigned dst() {
    static constexpr unsigned kRegs[] = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    return kRegs[rnd(std::size(kRegs))];
  }
  unsigned src() { return pct(5) ? (pct(50) ? 4 : 15) : dst(); }
  ZydisEncoderOperand reg(unsigned bytes, unsigned idx) {
    return reg_op(gpr_reg(bytes, idx, bytes == 1 && idx < 4 && pct(25)));
  }
  ZydisEncoderOperand rd(unsigned bytes) { return reg(bytes, dst()); }
  ZydisEncoderOperand rs(unsigned bytes) { return reg(bytes, src()); }
  ZydisEncoderOperand mem(unsigned bytes, unsigned slack = 0) {
    const int64_t off = static_cast<int64_t>(rnd(kPageSize - bytes - slack + 1));
    if (pct(20)) return mem_op(bytes, ZYDIS_REGISTER_NONE, static_cast<int64_t>(kScratch) + off);
    return mem_op(bytes, kBase, off);
  }
  ZydisEncoderOperand rm(unsigned bytes) { return pct(70) ? rd(bytes) : mem(bytes); }
  uint64_t value() {
    static constexpr uint64_t kEdges[] = {0,
                                          1,
                                          2,
                                          0x7f,
                                          0x80,
                                          0xff,
                                          0x7fff,
                                          0x8000,
                                          0xffff,
                                          0x7fffffff,
                                          0x80000000,
                                          0xffffffff,
                                          0x7fffffffffffffff,
                                          0x8000000000000000,
                                          ~0ull};
    switch (rnd(6)) {
      case 0:
        return kEdges[rnd(std::size(kEdges))];
      case 1:
        return rnd(64);
      case 2:
        return static_cast<uint32_t>(rng_());
      case 3:
        return ~0ull - rnd(4);
      default:
        return rng_();
    }
  }
  int64_t imm(unsigned bytes) {
    const uint64_t v = pct(50) ? static_cast<uint64_t>(static_cast<int8_t>(rng_())) : value();
    switch (bytes) {
      case 1:
        return static_cast<int8_t>(v);
      case 2:
        return static_cast<int16_t>(v);
      default:
        return static_cast<int32_t>(v);
    }
  }

  // Defines every status flag with a CMP when `reads` touches an undefined one.
  void define(Assembler& a, uint64_t reads) {
    if (!(reads & a.taint)) return;
    while (!a.emit(ZYDIS_MNEMONIC_CMP, {rs(8), rs(8)}, flag_effect(ZYDIS_MNEMONIC_CMP, 64))) {
    }
  }
  // Emits one encodable instruction; retries the generator `f` on encoding failures
  // (e.g. AH with a REX prefix).
  template <class F>
  void retry(F&& f) {
    for (int i = 0; i < 20 && !f(); ++i) {
    }
  }

  void item(Assembler& a, bool allow_jcc) {
    switch (rnd(allow_jcc ? 21 : 20)) {
      case 0:
      case 1:
      case 2:
      case 3:
        return alu(a);
      case 4:
        return unary(a);
      case 5:
      case 6:
        return shift(a);
      case 7:
        return double_shift(a);
      case 8:
        return multiply(a);
      case 9:
        return divide(a);
      case 10:
        return bit_test(a);
      case 11:
        return bit_scan(a);
      case 12:
        return conditional(a);
      case 13:
        return lea(a);
      case 14:
        return move(a);
      case 15:
        return exchange(a);
      case 16:
        return stack(a);
      case 17:
        return string(a);
      case 18:
      case 19:
        return misc(a);
      default:
        return jcc(a);
    }
  }

  void alu(Assembler& a) {
    static constexpr Z kOps[] = {ZYDIS_MNEMONIC_ADD, ZYDIS_MNEMONIC_OR,  ZYDIS_MNEMONIC_ADC,
                                 ZYDIS_MNEMONIC_SBB, ZYDIS_MNEMONIC_AND, ZYDIS_MNEMONIC_SUB,
                                 ZYDIS_MNEMONIC_XOR, ZYDIS_MNEMONIC_CMP, ZYDIS_MNEMONIC_TEST};
    const Z m = kOps[rnd(std::size(kOps))];
    const unsigned s = size();
    const FlagEffect fx = flag_effect(m, s * 8);
    define(a, fx.reads);
    const bool lock = m != ZYDIS_MNEMONIC_CMP && m != ZYDIS_MNEMONIC_TEST && pct(10);
    retry([&] {
      switch (rnd(5)) {
        case 0:
          return a.emit(m, {rd(s), rs(s)}, fx);
        case 1:
          return a.emit(m, {rd(s), imm_op(imm(s))}, fx);
        case 2:
          return m != ZYDIS_MNEMONIC_TEST && a.emit(m, {rd(s), mem(s)}, fx);
        case 3:
          return a.emit(m, {mem(s), rs(s)}, fx, lock ? ZYDIS_ATTRIB_HAS_LOCK : 0);
        default:
          return a.emit(m, {mem(s), imm_op(imm(s))}, fx, lock ? ZYDIS_ATTRIB_HAS_LOCK : 0);
      }
    });
  }

  void unary(Assembler& a) {
    static constexpr Z kOps[] = {ZYDIS_MNEMONIC_INC, ZYDIS_MNEMONIC_DEC, ZYDIS_MNEMONIC_NEG,
                                 ZYDIS_MNEMONIC_NOT};
    const Z m = kOps[rnd(4)];
    const unsigned s = size();
    retry([&] { return a.emit(m, {rm(s)}, flag_effect(m, s * 8)); });
  }

  // Shifts and rotates by 1, by an immediate (0, around the width, or anything up to 255),
  // by CL loaded just before, or by whatever CL holds.
  void shift(Assembler& a) {
    static constexpr Z kOps[] = {ZYDIS_MNEMONIC_ROL, ZYDIS_MNEMONIC_ROR, ZYDIS_MNEMONIC_RCL,
                                 ZYDIS_MNEMONIC_RCR, ZYDIS_MNEMONIC_SHL, ZYDIS_MNEMONIC_SHR,
                                 ZYDIS_MNEMONIC_SAR};
    const Z m = kOps[rnd(std::size(kOps))];
    const unsigned s = size();
    const unsigned mode = static_cast<unsigned>(rnd(4));
    std::optional<unsigned> count;
    if (mode < 3)
      count = mode == 0 ? 1 : pct(60) ? static_cast<unsigned>(rnd(s * 8 + 3)) : rnd(256);
    if (mode == 2)
      a.emit(ZYDIS_MNEMONIC_MOV, {reg_op(ZYDIS_REGISTER_CL), imm_op(static_cast<int8_t>(*count))},
             {});
    const FlagEffect fx = flag_effect(m, s * 8, count);
    define(a, fx.reads);
    retry([&] {
      const auto c = mode >= 2 ? reg_op(ZYDIS_REGISTER_CL) : imm_op(static_cast<int8_t>(*count));
      return a.emit(m, {rm(s), c}, fx);
    });
  }

  void double_shift(Assembler& a) {
    const Z m = pct(50) ? ZYDIS_MNEMONIC_SHLD : ZYDIS_MNEMONIC_SHRD;
    const unsigned s = pct(50) ? 4 : 8;
    const bool by_cl = pct(40);
    const unsigned count = static_cast<unsigned>(pct(50) ? rnd(s * 8) : rnd(256));
    const FlagEffect fx = flag_effect(m, s * 8, by_cl ? std::nullopt : std::optional(count));
    retry([&] {
      const auto c = by_cl ? reg_op(ZYDIS_REGISTER_CL) : imm_op(static_cast<int8_t>(count));
      return a.emit(m, {rm(s), rs(s), c}, fx);
    });
  }

  void multiply(Assembler& a) {
    const unsigned s = size();
    retry([&] {
      switch (rnd(4)) {
        case 0:
          return a.emit(ZYDIS_MNEMONIC_MUL, {rm(s)}, flag_effect(ZYDIS_MNEMONIC_MUL, 0));
        case 1:
          return a.emit(ZYDIS_MNEMONIC_IMUL, {rm(s)}, flag_effect(ZYDIS_MNEMONIC_IMUL, 0));
        case 2: {
          const unsigned w = wide();
          return a.emit(ZYDIS_MNEMONIC_IMUL, {rd(w), rm(w)}, flag_effect(ZYDIS_MNEMONIC_IMUL, 0));
        }
        default: {
          const unsigned w = wide();
          return a.emit(ZYDIS_MNEMONIC_IMUL, {rd(w), rm(w), imm_op(imm(w))},
                        flag_effect(ZYDIS_MNEMONIC_IMUL, 0));
        }
      }
    });
  }

  // DIV/IDIV with the dividend and divisor guarded so no #DE is raised (SDM Vol. 2A "DIV":
  // the quotient must fit): unsigned with the high half zeroed and an odd divisor; signed
  // with an odd (so never the most negative) dividend sign-extended and an odd divisor.
  void divide(Assembler& a) {
    const bool sign = pct(50);
    const unsigned s = size();
    const Z m = sign ? ZYDIS_MNEMONIC_IDIV : ZYDIS_MNEMONIC_DIV;
    static constexpr unsigned kDivisors[] = {1, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14};
    const bool in_mem = pct(30);
    const unsigned di = kDivisors[rnd(std::size(kDivisors))];
    const auto d = in_mem ? mem(s) : reg_op(gpr_reg(s, di));
    const FlagEffect or_fx = flag_effect(ZYDIS_MNEMONIC_OR, 8);
    if (sign) {
      a.emit(ZYDIS_MNEMONIC_OR, {reg_op(ZYDIS_REGISTER_AL), imm_op(1)}, or_fx);
      static constexpr uint8_t kExtend[4][2] = {
          {0x66, 0x98}, {0x66, 0x99}, {0x90, 0x99}, {0x48, 0x99}};
      const unsigned k = s == 1 ? 0 : s == 2 ? 1 : s == 4 ? 2 : 3;
      a.emit_raw({kExtend[k][0], kExtend[k][1]}, {});
    } else if (s == 1) {
      a.emit(ZYDIS_MNEMONIC_MOVZX, {reg_op(ZYDIS_REGISTER_EAX), reg_op(ZYDIS_REGISTER_AL)}, {});
    } else {
      a.emit(ZYDIS_MNEMONIC_XOR, {reg_op(ZYDIS_REGISTER_EDX), reg_op(ZYDIS_REGISTER_EDX)},
             flag_effect(ZYDIS_MNEMONIC_XOR, 32));
    }
    auto d_or = d;
    if (d_or.type == ZYDIS_OPERAND_TYPE_MEMORY) d_or.mem.size = 1;
    if (!in_mem) d_or.reg.value = gpr_reg(1, di);
    a.emit(ZYDIS_MNEMONIC_OR, {d_or, imm_op(1)}, or_fx);
    a.emit(m, {d}, flag_effect(m, s * 8));
  }

  // The deliberate #DE: division by zero, or a quotient too large.
  void divide_fault(Assembler& a) {
    const unsigned s = wide();
    a.emit(ZYDIS_MNEMONIC_MOV, {reg_op(gpr_reg(s, 1)), imm_op(pct(50) ? 0 : -1)}, {});
    if (pct(50)) {
      a.emit(ZYDIS_MNEMONIC_MOV, {reg_op(gpr_reg(8, 2)), imm_op(pct(50) ? 0 : -5)}, {});
      a.emit(pct(50) ? ZYDIS_MNEMONIC_DIV : ZYDIS_MNEMONIC_IDIV, {reg_op(gpr_reg(s, 1))}, {});
    } else {
      a.emit(ZYDIS_MNEMONIC_MOV, {reg_op(gpr_reg(8, 0)), imm_op(0)}, {});
      a.emit(ZYDIS_MNEMONIC_BTS, {reg_op(gpr_reg(8, 0)), imm_op(s * 8 - 1)},
             flag_effect(ZYDIS_MNEMONIC_BTS, 64));
      a.emit_raw({0x48, 0x99}, {});  // cqo
      a.emit(ZYDIS_MNEMONIC_IDIV, {reg_op(gpr_reg(s, 1))}, {});
    }
  }

  void bit_test(Assembler& a) {
    static constexpr Z kOps[] = {ZYDIS_MNEMONIC_BT, ZYDIS_MNEMONIC_BTS, ZYDIS_MNEMONIC_BTR,
                                 ZYDIS_MNEMONIC_BTC};
    const Z m = kOps[rnd(4)];
    const unsigned s = wide();
    const FlagEffect fx = flag_effect(m, s * 8);
    const ZyanU64 lock = m != ZYDIS_MNEMONIC_BT && pct(20) ? ZYDIS_ATTRIB_HAS_LOCK : 0;
    retry([&] {
      switch (rnd(4)) {
        case 0:
          return a.emit(m, {rd(s), rs(s)}, fx);
        case 1:
          return a.emit(m, {rd(s), imm_op(static_cast<int64_t>(rnd(256)))}, fx);
        case 2:
          return a.emit(m, {mem(s), imm_op(static_cast<int64_t>(rnd(256)))}, fx, lock);
        default: {  // a register bit offset reaches past the operand: keep it below 1024
          const unsigned r = dst();
          a.emit(ZYDIS_MNEMONIC_AND, {reg_op(gpr_reg(4, r)), imm_op(0x3ff)},
                 flag_effect(ZYDIS_MNEMONIC_AND, 32));
          return a.emit(m, {mem(s, 136), reg_op(gpr_reg(s, r))}, fx, lock);
        }
      }
    });
  }

  void bit_scan(Assembler& a) {
    static constexpr Z kOps[] = {ZYDIS_MNEMONIC_BSF, ZYDIS_MNEMONIC_BSR, ZYDIS_MNEMONIC_POPCNT,
                                 ZYDIS_MNEMONIC_LZCNT};
    const Z m = kOps[rnd(4)];
    const unsigned s = wide();
    retry([&] { return a.emit(m, {rd(s), rm(s)}, flag_effect(m, s * 8)); });
  }

  void conditional(Assembler& a) {
    const unsigned cc = static_cast<unsigned>(rnd(16));
    define(a, condition_reads(cc));
    if (pct(50)) {
      const unsigned s = wide();
      retry([&] { return a.emit(kCmov[cc], {rd(s), rm(s)}, {}); });
    } else {
      retry([&] { return a.emit(kSet[cc], {rm(1)}, {}); });
    }
  }

  void lea(Assembler& a) {
    const unsigned s = wide();
    retry([&] {
      const auto base = pct(85) ? gpr_reg(8, static_cast<unsigned>(rnd(16))) : ZYDIS_REGISTER_NONE;
      unsigned idx = static_cast<unsigned>(rnd(16));
      const auto index = idx != 4 && pct(60) ? gpr_reg(8, idx) : ZYDIS_REGISTER_NONE;
      const int64_t disp = pct(50) ? static_cast<int8_t>(rng_()) : static_cast<int32_t>(rng_());
      const auto m = mem_op(0, base, disp, index, static_cast<uint8_t>(1u << rnd(4)));
      return a.emit(ZYDIS_MNEMONIC_LEA, {rd(s), m}, {});
    });
  }

  void move(Assembler& a) {
    retry([&] {
      const unsigned s = size();
      switch (rnd(7)) {
        case 0:
          return a.emit(ZYDIS_MNEMONIC_MOV, {rd(s), rs(s)}, {});
        case 1: {
          const int64_t v = s == 8 && pct(50) ? static_cast<int64_t>(value()) : imm(s);
          return a.emit(ZYDIS_MNEMONIC_MOV, {rd(s), imm_op(v)}, {});
        }
        case 2:
          return a.emit(ZYDIS_MNEMONIC_MOV, {rd(s), mem(s)}, {});
        case 3:
          return a.emit(ZYDIS_MNEMONIC_MOV, {mem(s), pct(50) ? rs(s) : imm_op(imm(s))}, {});
        case 4:
        case 5: {
          const unsigned from = pct(50) ? 1 : 2, to = from == 1 ? wide() : 4u << rnd(2);
          const Z m = rnd(2) ? ZYDIS_MNEMONIC_MOVZX : ZYDIS_MNEMONIC_MOVSX;
          return a.emit(m, {rd(to), rm(from)}, {});
        }
        default:
          return a.emit(ZYDIS_MNEMONIC_MOVSXD, {rd(8), rm(4)}, {});
      }
    });
  }

  void exchange(Assembler& a) {
    const unsigned s = size();
    const ZyanU64 lock = pct(30) ? ZYDIS_ATTRIB_HAS_LOCK : 0;
    retry([&] {
      switch (rnd(6)) {
        case 0:
          return a.emit(ZYDIS_MNEMONIC_XCHG, {rd(s), rd(s)}, {});
        case 5:  // 16-byte aligned (a misaligned operand is #GP)
          return a.emit(ZYDIS_MNEMONIC_CMPXCHG16B,
                        {mem_op(16, kBase, static_cast<int64_t>(16 * rnd(kPageSize / 16)))},
                        flag_effect(ZYDIS_MNEMONIC_CMPXCHG16B, 0), lock);
        case 1:
          return a.emit(ZYDIS_MNEMONIC_XCHG, {mem(s), rd(s)}, {});
        case 2:
          return a.emit(ZYDIS_MNEMONIC_XADD, {rm(s), rd(s)}, flag_effect(ZYDIS_MNEMONIC_XADD, 0),
                        lock);
        case 3:
          return a.emit(ZYDIS_MNEMONIC_CMPXCHG, {rm(s), rd(s)},
                        flag_effect(ZYDIS_MNEMONIC_CMPXCHG, 0), lock);
        default:
          return a.emit(ZYDIS_MNEMONIC_CMPXCHG8B, {mem(8)},
                        flag_effect(ZYDIS_MNEMONIC_CMPXCHG8B, 0), lock);
      }
    });
  }

  void stack(Assembler& a) {
    retry([&] {
      switch (rnd(6)) {
        case 0:
          return a.emit(ZYDIS_MNEMONIC_PUSH, {rs(pct(85) ? 8 : 2)}, {});
        case 1:
          return a.emit(ZYDIS_MNEMONIC_PUSH, {imm_op(imm(4))}, {});
        case 2:
          return a.emit(ZYDIS_MNEMONIC_PUSH, {mem(8)}, {});
        case 3:
        case 4:
          return a.emit(ZYDIS_MNEMONIC_POP, {rd(pct(85) ? 8 : 2)}, {});
        default:
          return a.emit(ZYDIS_MNEMONIC_POP, {mem(8)}, {});
      }
    });
  }

  // MOVS/STOS/LODS/CMPS/SCAS with RSI/RDI inside the scratch page, a count of 0-8 and either
  // direction; REP/REPE/REPNE or none.
  void string(Assembler& a) {
    const unsigned s = size();
    const uint32_t lo = 8 * 8, hi = static_cast<uint32_t>(kPageSize - 8 * 8 - 8);
    const auto addr = [&] { return static_cast<int64_t>(kScratch + lo + rnd(hi - lo)); };
    a.emit(ZYDIS_MNEMONIC_MOV, {reg_op(ZYDIS_REGISTER_ESI), imm_op(addr())}, {});
    a.emit(ZYDIS_MNEMONIC_MOV, {reg_op(ZYDIS_REGISTER_EDI), imm_op(addr())}, {});
    const unsigned count = static_cast<unsigned>(rnd(9));
    a.emit(ZYDIS_MNEMONIC_MOV, {reg_op(ZYDIS_REGISTER_ECX), imm_op(count)}, {});
    a.emit_raw({static_cast<uint8_t>(pct(50) ? 0xfc : 0xfd)}, {});     // CLD / STD
    static constexpr uint8_t kOps[] = {0xa4, 0xaa, 0xac, 0xa6, 0xae};  // MOVS STOS LODS CMPS SCAS
    const uint8_t op = kOps[rnd(5)];
    const bool compares = op == 0xa6 || op == 0xae;
    const unsigned rep = static_cast<unsigned>(rnd(3));  // none, F3, F2
    std::vector<uint8_t> bytes;
    if (rep) bytes.push_back(rep == 1 ? 0xf3 : 0xf2);
    if (s == 2) bytes.push_back(0x66);
    if (s == 8) bytes.push_back(0x48);
    bytes.push_back(static_cast<uint8_t>(op + (s > 1)));
    FlagEffect fx;
    if (compares && (!rep || count > 0)) fx = flag_effect(ZYDIS_MNEMONIC_CMP, 0);
    a.code.insert(a.code.end(), bytes.begin(), bytes.end());
    a.apply(fx);
  }

  void misc(Assembler& a) {
    const unsigned s = wide() == 2 ? 4 : 8;
    switch (rnd(9)) {
      case 8: {  // XLAT: RBX (clobbered) at a table of 256 bytes inside the scratch page
        const auto table = static_cast<int64_t>(kScratch + rnd(kPageSize - 256));
        a.emit(ZYDIS_MNEMONIC_MOV, {reg_op(ZYDIS_REGISTER_EBX), imm_op(table)}, {});
        a.emit_raw({0xd7}, {});
        return;
      }
      case 0:
        a.emit(ZYDIS_MNEMONIC_BSWAP, {rd(s)}, {});
        return;
      case 1: {
        static constexpr uint8_t kExt[6][2] = {{0x66, 0x98}, {0x90, 0x98}, {0x48, 0x98},
                                               {0x66, 0x99}, {0x90, 0x99}, {0x48, 0x99}};
        const auto& e = kExt[rnd(6)];
        a.emit_raw({e[0], e[1]}, {});
        return;
      }
      case 2:
        a.emit_raw({0xf8}, flag_effect(ZYDIS_MNEMONIC_CLC, 0));
        return;
      case 3:
        a.emit_raw({0xf9}, flag_effect(ZYDIS_MNEMONIC_STC, 0));
        return;
      case 4:
        define(a, flag::kCF);
        a.emit_raw({0xf5}, flag_effect(ZYDIS_MNEMONIC_CMC, 0));
        return;
      case 5:
        define(a, flag_effect(ZYDIS_MNEMONIC_LAHF, 0).reads);
        a.emit_raw({0x9f}, {});
        return;
      case 6:
        a.emit_raw({0x9e}, flag_effect(ZYDIS_MNEMONIC_SAHF, 0));
        return;
      default:
        define(a, flag::kAll);
        a.emit_raw({0x9c}, {});  // PUSHFQ
        return;
    }
  }

  // A forward Jcc over 1-3 items; the flags undefined afterwards are those of either path.
  void jcc(Assembler& a) {
    const unsigned cc = static_cast<unsigned>(rnd(16));
    define(a, condition_reads(cc));
    Assembler body;
    body.taint = a.taint;
    const unsigned n = 1 + static_cast<unsigned>(rnd(3));
    for (unsigned i = 0; i < n; ++i) item(body, false);
    const size_t len = body.code.size();
    if (len < 128) {
      a.emit_raw({static_cast<uint8_t>(0x70 + cc), static_cast<uint8_t>(len)}, {});
    } else {
      a.emit_raw({0x0f, static_cast<uint8_t>(0x80 + cc), static_cast<uint8_t>(len),
                  static_cast<uint8_t>(len >> 8), 0, 0},
                 {});
    }
    a.append(body);
    a.taint |= body.taint;
  }
};

}  // namespace

uint64_t case_id(uint64_t seed, uint64_t index) {
  // splitmix64 of (seed, index): independent, reproducible streams per case.
  uint64_t z = seed * 0x9e3779b97f4a7c15ull + index + 1;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

TestCase make_case(uint64_t id) {
  return Gen(id).build(id);
}

}  // namespace vessel::difftest
