#include "corpus.hpp"

#include <functional>

#include "assembler.hpp"

namespace vessel::difftest {
namespace {

using Ops = std::initializer_list<ZydisEncoderOperand>;
enum : unsigned { A = 0, C = 1, D = 2, B = 3, SP = 4, BP = 5, SI = 6, DI = 7, R8 = 8, R9 = 9 };

ZydisEncoderOperand r(unsigned bytes, unsigned i) {
  return reg_op(gpr_reg(bytes, i));
}
ZydisEncoderOperand hi(unsigned i) {
  return reg_op(gpr_reg(1, i, true));
}
ZydisEncoderOperand m(unsigned bytes, int64_t off) {
  return mem_op(bytes, ZYDIS_REGISTER_R15, off);
}
ZydisEncoderOperand i(int64_t v) {
  return imm_op(v);
}

// One instruction with its flag effect taken from the table (`count` for shifts).
struct Asm {
  Assembler a;
  void operator()(ZydisMnemonic mn, Ops ops, unsigned bits = 64,
                  std::optional<unsigned> count = {}) {
    a.emit(mn, ops, flag_effect(mn, bits, count));
  }
  void raw(std::initializer_list<uint8_t> b, FlagEffect fx = {}) { a.emit_raw(b, fx); }
};

struct Builder {
  std::vector<TestCase> out;
  void add(std::string name, std::initializer_list<std::pair<unsigned, uint64_t>> regs,
           uint64_t flags, const std::function<void(Asm&)>& body) {
    TestCase tc;
    tc.id = 0xc0'0000 + out.size();
    tc.name = std::move(name);
    for (unsigned k = 0; k < 16; ++k) tc.gpr[k] = 0x1111111111111111ull * k;
    for (auto [k, v] : regs) tc.gpr[k] = v;
    tc.rflags = 0x202 | flags;
    for (size_t k = 0; k < kPageSize; ++k) tc.scratch[k] = static_cast<uint8_t>(k * 7 + 3);
    Asm as;
    body(as);
    tc.code = as.a.code;
    tc.undefined_flags = as.a.taint;
    out.push_back(std::move(tc));
  }
};

using namespace flag;
constexpr uint64_t kMin = 0x8000000000000000ull, kHiJunk = 0xdeadbeef00000000ull;

void shifts(Builder& b) {
  b.add("shift by 0 keeps flags", {{A, 0x80}}, kAll, [](Asm& s) {
    s(ZYDIS_MNEMONIC_SHL, {r(1, A), i(0)}, 8, 0);
    s(ZYDIS_MNEMONIC_SAR, {r(8, A), i(64)}, 64, 64);
  });
  b.add("32-bit shift by 0 zeroes the upper half", {{A, kHiJunk | 5}}, kCF, [](Asm& s) {
    s(ZYDIS_MNEMONIC_SHL, {r(4, A), i(0)}, 32, 0);
  });
  b.add("shift by CL = 0", {{C, 0x100}, {D, 0x81}}, kCF | kOF, [](Asm& s) {
    s(ZYDIS_MNEMONIC_SHR, {r(1, D), r(1, C)}, 8, 0);
  });
  for (unsigned n : {7u, 8u, 9u, 16u, 17u, 31u})
    b.add("8-bit shifts by " + std::to_string(n), {{A, 0x81}, {B, 0xc3}, {D, 0x7f}}, 0,
          [n](Asm& s) {
            s(ZYDIS_MNEMONIC_SHL, {r(1, A), i(n)}, 8, n);
            s(ZYDIS_MNEMONIC_SHR, {r(1, B), i(n)}, 8, n);
            s(ZYDIS_MNEMONIC_SAR, {r(1, D), i(n)}, 8, n);
          });
  for (unsigned n : {1u, 8u, 9u, 16u, 17u, 31u})
    b.add("rotates by " + std::to_string(n), {{A, 0x81}, {B, 0x8001}}, kCF, [n](Asm& s) {
      s(ZYDIS_MNEMONIC_ROL, {r(1, A), i(n)}, 8, n);
      s(ZYDIS_MNEMONIC_RCR, {r(2, B), i(n)}, 16, n);
      s(ZYDIS_MNEMONIC_RCL, {r(1, C), i(n)}, 8, n);
      s(ZYDIS_MNEMONIC_ROR, {r(2, D), i(n)}, 16, n);
    });
  b.add("shl 63 and 64-bit counts", {{A, 3}, {B, kMin | 1}}, 0, [](Asm& s) {
    s(ZYDIS_MNEMONIC_SHL, {r(8, A), i(63)}, 64, 63);
    s(ZYDIS_MNEMONIC_SAR, {r(8, B), i(1)}, 64, 1);
  });
  b.add("shld/shrd", {{A, 0x12345678}, {B, 0x9abcdef0}, {C, 33}}, 0, [](Asm& s) {
    s(ZYDIS_MNEMONIC_SHLD, {r(4, A), r(4, B), i(1)}, 32, 1);
    s(ZYDIS_MNEMONIC_SHRD, {r(8, D), r(8, B), i(63)}, 64, 63);
    s(ZYDIS_MNEMONIC_SHLD, {r(4, SI), r(4, B), r(1, C)}, 32, 33);
    s(ZYDIS_MNEMONIC_SHRD, {r(4, DI), r(4, B), i(0)}, 32, 0);
  });
}

void arithmetic(Builder& b) {
  b.add("adc/sbb with carry in", {{A, 0x7fffffff}, {B, 0}, {C, 0xff}, {D, kMin}}, kCF, [](Asm& s) {
    s(ZYDIS_MNEMONIC_ADC, {r(4, A), r(4, B)});
    s.raw({0xf9}, flag_effect(ZYDIS_MNEMONIC_STC, 0));
    s(ZYDIS_MNEMONIC_ADC, {r(1, C), i(-1)});
    s.raw({0xf9}, flag_effect(ZYDIS_MNEMONIC_STC, 0));
    s(ZYDIS_MNEMONIC_SBB, {r(8, D), i(0)});
    s(ZYDIS_MNEMONIC_SBB, {m(2, 0x10), r(2, B)});
  });
  b.add("imul/mul overflow", {{A, 0x40000000}, {B, 4}, {C, kMin}, {D, 0x80}}, 0, [](Asm& s) {
    s(ZYDIS_MNEMONIC_IMUL, {r(4, B), r(4, A)});
    s(ZYDIS_MNEMONIC_IMUL, {r(8, SI), r(8, C), i(-1)});
    s(ZYDIS_MNEMONIC_MOV, {r(4, A), i(0x80)});
    s(ZYDIS_MNEMONIC_IMUL, {r(1, D)});
    s(ZYDIS_MNEMONIC_MUL, {r(8, C)});
  });
  b.add("neg/inc/dec edges", {{A, 0}, {B, kMin}, {C, 0x7f}, {D, 0}}, kCF, [](Asm& s) {
    s(ZYDIS_MNEMONIC_NEG, {r(8, A)});
    s(ZYDIS_MNEMONIC_NEG, {r(8, B)});
    s(ZYDIS_MNEMONIC_INC, {r(1, C)});
    s(ZYDIS_MNEMONIC_DEC, {r(2, D)});
  });
  b.add("div/idiv", {{A, 0xfffffffe}, {D, 2}, {B, 3}, {C, static_cast<uint64_t>(-7)}}, 0,
        [](Asm& s) {
          s(ZYDIS_MNEMONIC_DIV, {r(4, B)}, 32);
          s(ZYDIS_MNEMONIC_MOV, {r(8, A), i(-100)});
          s.raw({0x48, 0x99});
          s(ZYDIS_MNEMONIC_IDIV, {r(8, C)});
        });
  b.add("divide by zero", {{A, 1}, {D, 0}, {B, 0}}, 0, [](Asm& s) { s.raw({0xf7, 0xf3}); });
  b.add("idiv overflow", {{A, kMin}, {D, ~0ull}, {B, ~0ull}}, 0, [](Asm& s) {
    s.raw({0x48, 0xf7, 0xfb});
  });
}

void bits(Builder& b) {
  b.add("bsf/bsr of 0 keep the destination", {{A, kHiJunk | 0x1234}, {B, kHiJunk | 7}, {C, 0}}, 0,
        [](Asm& s) {
          s(ZYDIS_MNEMONIC_BSF, {r(4, A), r(4, C)}, 32);
          s(ZYDIS_MNEMONIC_BSR, {r(8, B), r(8, C)}, 64);
          s(ZYDIS_MNEMONIC_BSF, {r(2, D), r(2, C)}, 16);
        });
  b.add("popcnt/lzcnt of 0", {{A, 0}, {B, 5}}, kAll, [](Asm& s) {
    s(ZYDIS_MNEMONIC_POPCNT, {r(8, B), r(8, A)});
    s(ZYDIS_MNEMONIC_LZCNT, {r(4, C), r(4, A)}, 32);
  });
  b.add("bt with a negative register offset", {{A, ~0ull}, {B, static_cast<uint64_t>(-33)}}, 0,
        [](Asm& s) {
          s(ZYDIS_MNEMONIC_BTS, {m(8, 0x800), r(8, A)});
          s(ZYDIS_MNEMONIC_BTC, {m(4, 0x800), r(4, B)});
          s(ZYDIS_MNEMONIC_BTR, {r(2, D), i(17)});
        });
}

void moves(Builder& b) {
  b.add("AH..BH", {{A, 0x1122334455667788}, {B, 0xaabbccddeeff0011}, {C, 0x8000}}, 0, [](Asm& s) {
    s(ZYDIS_MNEMONIC_MOV, {hi(A), hi(B)});
    s(ZYDIS_MNEMONIC_ADD, {hi(C), r(1, D)});
    s(ZYDIS_MNEMONIC_XCHG, {hi(D), r(1, A)});
    s(ZYDIS_MNEMONIC_MOVZX, {r(4, SI), hi(B)});
    s(ZYDIS_MNEMONIC_MOVSX, {r(8, DI), hi(C)});
  });
  b.add("32-bit writes zero the upper half", {{A, kHiJunk}, {B, kHiJunk | 1}, {C, kHiJunk}}, kZF,
        [](Asm& s) {
          s(ZYDIS_MNEMONIC_CMOVNZ, {r(4, A), r(4, B)});  // not taken: still zero-extends
          s(ZYDIS_MNEMONIC_XCHG, {r(4, C), r(4, D)});
          s(ZYDIS_MNEMONIC_BSWAP, {r(4, SI)});
          s.raw({0x90});  // xchg eax, eax as NOP: no zero-extension
          s(ZYDIS_MNEMONIC_MOV, {r(4, R8), r(4, R8)});
        });
  b.add("cmpxchg equal and not", {{A, kHiJunk | 5}, {C, kHiJunk | 5}, {D, 9}, {B, 7}}, 0,
        [](Asm& s) {
          s(ZYDIS_MNEMONIC_CMPXCHG, {r(4, C), r(4, D)});
          s(ZYDIS_MNEMONIC_CMPXCHG, {r(4, B), r(4, D)});
          s(ZYDIS_MNEMONIC_CMPXCHG, {m(8, 8), r(8, D)});
          s(ZYDIS_MNEMONIC_XADD, {r(1, A), r(1, B)});
        });
  b.add("sign extensions", {{A, 0x8080808080808080}, {D, 5}}, 0, [](Asm& s) {
    s.raw({0x66, 0x98});
    s.raw({0x98});
    s.raw({0x48, 0x98});
    s.raw({0x48, 0x99});
    s(ZYDIS_MNEMONIC_MOVSXD, {r(8, SI), r(4, A)});
    s(ZYDIS_MNEMONIC_MOVSX, {r(2, DI), m(1, 0x80)});
  });
  b.add("push/pop forms", {{A, 0x1234}, {B, 0xffff}}, 0, [](Asm& s) {
    s(ZYDIS_MNEMONIC_PUSH, {r(8, SP)});
    s(ZYDIS_MNEMONIC_PUSH, {r(2, B)});
    s(ZYDIS_MNEMONIC_POP, {r(2, C)});
    s(ZYDIS_MNEMONIC_POP, {mem_op(8, ZYDIS_REGISTER_RSP, 0)});  // address after the increment
    s(ZYDIS_MNEMONIC_PUSH, {i(-2)});
    s.raw({0x9c});
    s(ZYDIS_MNEMONIC_POP, {r(8, D)});
  });
  b.add("lahf/sahf", {{A, 0xd500}}, kOF, [](Asm& s) {
    s.raw({0x9e}, flag_effect(ZYDIS_MNEMONIC_SAHF, 0));
    s(ZYDIS_MNEMONIC_MOV, {r(4, A), i(0)});
    s.raw({0x9f});
  });
}

void strings(Builder& b) {
  const uint64_t src = kScratch + 0x100, dst = kScratch + 0x200;
  b.add("rep movsb with count 0", {{SI, src}, {DI, dst}, {C, 0}}, 0, [](Asm& s) {
    s.raw({0xf3, 0xa4});
  });
  b.add("std; rep stosq", {{DI, dst}, {C, 3}, {A, 0x55}}, 0, [](Asm& s) {
    s.raw({0xfd});
    s.raw({0xf3, 0x48, 0xab});
    s.raw({0xfc});
  });
  b.add("repe cmpsb stops at a difference", {{SI, src}, {DI, src + 7}, {C, 8}}, 0, [](Asm& s) {
    s.raw({0xf3, 0xa6}, flag_effect(ZYDIS_MNEMONIC_CMP, 0));
  });
  b.add("repne scasw", {{DI, src}, {C, 5}, {A, 0x0a03}}, 0, [](Asm& s) {
    s.raw({0xf2, 0x66, 0xaf}, flag_effect(ZYDIS_MNEMONIC_CMP, 0));
  });
  b.add("lodsd zero-extends", {{SI, src}, {A, kHiJunk}}, 0, [](Asm& s) { s.raw({0xad}); });
}

}  // namespace

std::vector<TestCase> corpus_cases() {
  Builder b;
  shifts(b);
  arithmetic(b);
  bits(b);
  moves(b);
  strings(b);
  for (TestCase& tc : b.out)
    if (tc.name == "divide by zero" || tc.name == "idiv overflow") tc.may_fault = true;
  return b.out;
}

}  // namespace vessel::difftest
