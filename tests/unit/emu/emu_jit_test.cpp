// The translator against the interpreter: each natively translated instruction family runs
// from the same random registers, flags and memory in both, and must leave the same state
// (registers, RIP, flags, memory). Also faults inside translated code (precise state) and
// self-modifying code within one translated block.
#include <array>
#include <random>

#include "emu_jit_compare.hpp"

#include "engine/emu/jit/code_cache.hpp"
#include "engine/emu/jit/flag_liveness.hpp"
#include "engine/emu/jit/reg_cache.hpp"
#include "x86/decode/decoder.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

TEST(EmuJit, BinaryArithmetic) {
  for (const char* s : {"add rax, rdx", "add eax, edx", "add ax, dx", "add al, dl", "adc rax, rdx",
                        "sbb ecx, edx", "sub r9, r10", "and eax, 0x7f", "or r8w, -3",
                        "xor edx, edx", "xor sil, dil", "cmp rax, rdx", "test cl, dl",
                        "test eax, 0x80000000", "sub rsi, -1", "adc al, 0x80", "sbb r11, 5"})
    expect_same(s);
}

TEST(EmuJit, ArithmeticWithMemory) {
  for (const char* s : {"add qword [rbx+8], rdx", "sub dword [rbx+16], 5", "cmp rax, [rbx+8]",
                        "adc eax, [rbx+12]", "and word [rbx+6], dx", "or byte [rbx+3], 0x41",
                        "xor [rbx+rcx], al", "test [rbx+20], edx", "sbb rdx, [rbx+40]"})
    expect_same(s);
}

TEST(EmuJit, IncDecShiftsImul) {
  for (const char* s : {"inc rax",           "dec ecx",
                        "inc byte [rbx+3]",  "dec word [rbx+4]",
                        "inc r12w",          "shl rax, 5",
                        "shr edx, 1",        "sar r8w, 3",
                        "shl al, 7",         "shl rax, cl",
                        "sar edx, cl",       "shr dl, cl",
                        "shr byte [rbx], 2", "sar qword [rbx+8], 63",
                        "imul rax, rdx",     "imul ecx, [rbx+8]",
                        "imul r9, rdx, -7",  "imul ax, dx, 300",
                        "imul r13d, r14d",   "rol rax, 5",
                        "ror edx, 1",        "rol r8w, 9",
                        "ror al, 3",         "rol rax, cl",
                        "ror dl, cl",        "rol qword [rbx+8], 13"})
    expect_same(s);
}

TEST(EmuJit, Moves) {
  for (const char* s : {"mov rax, rdx",
                        "mov eax, edx",
                        "mov ax, dx",
                        "mov al, dl",
                        "mov r8, 0x123456789abc",
                        "mov [rbx+24], rdx",
                        "mov [rbx+2], dx",
                        "mov byte [rbx+1], 0x7f",
                        "mov rcx, [rbx+8]",
                        "mov ecx, [rbx+8]",
                        "mov cx, [rbx+6]",
                        "mov qword [rbx+32], -2",
                        "movzx eax, byte [rbx+5]",
                        "movzx rax, dx",
                        "movsx rax, dl",
                        "movsx ecx, word [rbx+6]",
                        "movsxd rax, edx",
                        "lea rax, [rbx+rdx*4+12]",
                        "lea eax, [rdx+rcx*2-8]",
                        "lea r9w, [rsi+rdi]",
                        "push rdx\npop rcx",
                        "push 0x1234\npop rax",
                        "push rsp\npop rsp",
                        "mov rax, [rel .d]\njmp .e\n.d: dq 0x1122334455667788\n.e:"})
    expect_same(s);
}

TEST(EmuJit, ConditionsAndBranches) {
  for (const char* s :
       {"cmovz rax, rdx", "cmovl ecx, edx", "cmovnbe rcx, [rbx+8]", "cmovp ax, dx", "setnz al",
        "setl byte [rbx+7]", "setbe cl", "seto r9b", "jz .t\nmov eax, 1\n.t:",
        "jle .t\nmov eax, 1\n.t:", "jnp .t\nmov eax, 1\n.t:", "jmp .t\nmov eax, 1\n.t:",
        "call .f\njmp .e\n.f: add rax, 1\nret\n.e:", "call .f\njmp .e\n.f: ret 8\n.e:",
        "add rax, rdx\njo .t\nsub rcx, rdx\njb .t\nmov eax, 1\n.t:"})
    expect_same(s);
}

// Faults in the middle of a translated block: the instruction has not committed, RIP is its
// own, the instructions before it have (and the #PF frame on the stack is the same).
TEST(EmuJit, FaultsArePrecise) {
  for (const char* s : {"add rax, 1\nadd rcx, [r10]\nadd rax, 1", "inc rdx\nmov [r10+8], rdx",
                        "add rax, rdx\npush rax\nmov rax, [r10]", "shl rax, 3\ncmovz rax, [r10]",
                        "add rsi, 5\ninc qword [r10+4000]"})
    expect_same(s, 4);
}

// A store into the block that is running: the rest of the block must run the new bytes.
TEST(EmuJit, SelfModifyingCodeInTheSameBlock) {
  for (ExecMode mode : {ExecMode::kInterp, ExecMode::kJit}) {
    Env e;
    e.cpu.set_exec_mode(mode);
    e.cpu.set_jit_threshold(0);
    e.long_mode(kCode);
    ASSERT_EQ(e.run_code("mov ecx, 3\n"
                         ".a: mov byte [rel .p+1], 5\n"  // mov al, 1 → mov al, 5
                         "add rdx, rax\n"
                         ".p: mov al, 1\n"
                         "add rdx, rax\n"
                         "dec ecx\njnz .a\nhlt"),
              StopReason::kHalt);
    EXPECT_EQ(e.st().gpr[kRax] & 0xff, 5u);
  }
}

// One-operand MUL/IMUL: AX or rDX:rAX, every width, register and memory sources (including
// RAX/RDX themselves), with the flags live after (a SETcc, PUSHFQ) and dead (an ADD after).
TEST(EmuJit, OneOperandMulImul) {
  for (const char* op : {"mul", "imul"})
    for (const char* s : {" rcx",
                          " rax",
                          " rdx",
                          " r9",
                          " ecx",
                          " eax",
                          " edx",
                          " r14d",
                          " cx",
                          " ax",
                          " dx",
                          " r11w",
                          " cl",
                          " al",
                          " dil",
                          " r8b",
                          " qword [rbx+8]",
                          " dword [rbx+12]",
                          " word [rbx+6]",
                          " byte [rbx+rcx]",
                          " rsi\nsetz cl\nsets dl\nsetp r8b",
                          " esi\npushfq\npop r11",
                          " rsi\nadd rax, r8\nadc rdx, 0"}) {
      expect_same(std::string(op) + s, 24);
    }
}

// NOT/NEG (every width, register and memory), BSWAP (32/64, and the undefined 16-bit form the
// interpreter zeroes) and NOP (the multi-byte forms with a memory operand, even an unmapped
// one: never accessed).
TEST(EmuJit, NotNegBswapNop) {
  for (const char* s : {"not rax",
                        "not ecx",
                        "not dx",
                        "not sil",
                        "not qword [rbx+8]",
                        "not byte [rbx+rcx]",
                        "neg rax",
                        "neg r9d",
                        "neg r11w",
                        "neg dil",
                        "neg dword [rbx+12]",
                        "neg word [rbx+6]",
                        "neg rdx\nsetz al\nsetp cl",
                        "bswap rax",
                        "bswap r13",
                        "bswap edx",
                        "bswap r9d",
                        "db 0x66, 0x0f, 0xc8",
                        "nop",
                        "nop dword [rax+rax]",
                        "nop word [r10+8]",
                        "db 0x66, 0x90",
                        "nop\nneg rcx\nnot rdx\nbswap rsi\nnop dword [rbx]"})
    expect_same(s, 24);
}

// Lazy flags: random straight-line sequences of flag writers and readers (ALU, shifts, CMOVcc,
// SETcc, ADC/SBB, PUSHFQ and CQO (native since issue 7), memory operands on the TLB and slow paths,
// Jcc that end blocks mid-sequence, sometimes a #PF in the middle) must leave the same state as
// the interpreter's, including the RFLAGS image a fault pushes.
TEST(EmuJit, LazyFlagsMatchTheInterpreterOnRandomSequences) {
  const char* const regs[] = {"rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9",
                              "r12", "r13", "r14", "r15", "rbp", "r11"};
  const char* const regs32[] = {"eax", "ecx", "edx", "esi", "edi", "r8d", "r9d"};
  const char* const bytes[] = {"al", "cl", "dl", "sil", "dil", "r8b", "r9b"};
  const char* const cc[] = {"o", "no", "b", "nb", "z", "nz", "be", "nbe",
                            "s", "ns", "p", "np", "l", "nl", "le", "nle"};
  const char* const binops[] = {"add", "sub", "adc", "sbb", "and", "or", "xor", "cmp", "test"};
  std::mt19937_64 rng(7);
  const auto pick = [&](const auto& list) { return std::string(list[rng() % std::size(list)]); };
  for (int n = 0; n < 80; ++n) {
    std::string src;
    const int len = 6 + static_cast<int>(rng() % 20);
    for (int i = 0; i < len; ++i) {
      const std::string r = pick(regs), q = pick(regs);
      switch (rng() % 18) {
        case 0:
        case 1:
        case 2:
          src += pick(binops) + " " + r + ", " + q;
          break;
        case 3:
          src += pick(binops) + " " + pick(regs32) + ", " + std::to_string(rng() % 300);
          break;
        case 4:
          src += std::string(rng() % 2 ? "inc " : "dec ") + r;
          break;
        case 5:
          src += pick(std::array{"shl ", "sar ", "rol ", "ror "}) + r + ", " +
                 std::to_string(1 + rng() % 63);
          break;
        case 6:
          src += "shr " + pick(regs32) + ", cl";
          break;
        case 7:
          src += "cmov" + pick(cc) + " " + r + ", " + q;
          break;
        case 8:
          src += "set" + pick(cc) + " " + pick(bytes);
          break;
        case 9:
          src += "lea " + r + ", [" + q + "+rcx*2+5]\nmov " + q + ", " + r;
          break;
        case 10:
          src += rng() % 2 ? "imul " + r + ", " + q
                           : pick(std::array{"mul ", "imul ", "neg ", "not ", "bswap "}) + q;
          break;
        case 11:
          src += "pushfq\npop r11";
          break;
        case 12:
          src += rng() % 2 ? "add " + r + ", [rbx+8]" : "mov [rbx+16], " + r;
          break;
        case 13:
          src += pick(std::array{"mov rsi, [rbx+24]", "mov [rbx+32], rdi", "mov rsi, [rbx+0xffd]",
                                 "cqo", "adc qword [rbx+40], 3", "sbb rdi, [rbx+0xffe]"});
          break;
        case 14:
          src += "j" + pick(cc) + " .j" + std::to_string(i) + "\nnot " + r + "\n.j" +
                 std::to_string(i) + ":";
          break;
        default:
          src += rng() % 4 ? "adc " + r + ", 1" : "mov rax, [r10]";  // the #PF, sometimes
          break;
      }
      src += "\n";
    }
    expect_same(src, 3);
  }
}

// Flags between a producer and its consumers (Emitter::condition): straight from the host
// flags (adjacent), from r15 across a memory access (TLB hit, and the slow path of a load
// crossing a page), from st.rflags (the block's incoming flags, or after a handler call), and
// from both (mixed: inc keeps CF of an earlier add); every condition, each consumer kind.
TEST(EmuJit, EveryConditionFromEveryPlaceTheFlagsLive) {
  const char* const cc[] = {"o", "no", "b", "nb", "z", "nz", "be", "nbe",
                            "s", "ns", "p", "np", "l", "nl", "le", "nle"};
  const char* const between[] = {
      "",                                           // host flags
      "mov rsi, [rbx+8]\nmov rdi, [rbx+16]",        // r15: the second load hits the TLB
      "mov rsi, [rbx+0xffd]",                       // r15: slow path (crosses a page)
      "cqo\nxchg rsi, rdi",                         // handler calls: st.rflags
      "mov rsi, [rbx]\ninc rdi\nmov rdi, [rbx+8]",  // mixed: CF in st.rflags, others in r15
  };
  const char* const producers[] = {"sub ecx, r9d", "add al, dl", "test r8, r9", "imul rsi, rdi"};
  for (size_t c = 0; c < std::size(cc); ++c)
    for (size_t b = 0; b < std::size(between); ++b)
      for (const char* producer : {"cmp rax, rdx", producers[c % std::size(producers)]}) {
        // Each consumer kind comes first (right after `between`) in turn; the later ones read
        // the flags after it (a SETcc to memory clobbers the host flags, a CMOVcc does not).
        const std::string x = cc[c];
        const std::string consumers[] = {"set" + x + " r11b\nset" + x + " byte [rbx+2]\n",
                                         "cmov" + x + " r12, rdx\ncmov" + x + " r13d, [rbx+24]\n",
                                         "cmov" + x + " r14w, si\n"};
        std::string src = std::string(producer) + "\n" + between[b] + "\n";
        for (size_t k = 0; k < 3; ++k) src += consumers[(c + b + k) % 3];
        expect_same(src + "j" + x + " .t\nmov eax, 1\n.t:", 3);
      }
  for (const char* c : cc) {  // the incoming flags of the block, in st.rflags
    expect_same(std::string("j") + c + " .t\nmov eax, 1\n.t:", 6);
    expect_same(std::string("set") + c + " al\ncmov" + c + " rcx, rdx", 6);
  }
}

// Carry chains (the kernel's RSA bignum loops: mul, add, adc, dec, jnz), with the carry in the
// host flags, in r15 across loads and stores, and across a page-crossing (slow) access.
TEST(EmuJit, CarryChainsMatchTheInterpreter) {
  for (const char* s :
       {"add rax, rdx\nadc rcx, rsi\nadc rdi, r8\nsbb r9, r11\nsbb r12, 7\nadc r13, -1",
        "add rax, [rbx]\nadc rcx, [rbx+8]\nmov [rbx+16], rax\nadc rdx, [rbx+0xffd]\n"
        "mov [rbx+24], rcx\nsbb rsi, [rbx+32]",
        "sub rax, rdx\nadc qword [rbx+8], 0\nsbb dword [rbx+16], ecx\nsetb dl",
        "inc rcx\nadc rax, rdx\ndec rsi\nsbb rdi, 1",
        "xor r9d, r9d\nmov r8d, 6\n"
        ".l: mov rax, [rbx+r8*8]\nmul rsi\nadd rax, r9\nadc rdx, 0\nadd [rbx+r8*8+8], rax\n"
        "adc rdx, 0\nmov r9, rdx\ndec r8\njnz .l",
        "mov ecx, 6\nclc\n.l: mov rax, [rbx+rcx*8]\nadc rax, [rbx+rcx*8-8]\nmov [rbx+rcx*8], rax\n"
        "inc rsi\ndec rcx\njnz .l\nsetc dl\nadc rdi, rsi",
        "mov ecx, 5\nclc\n.l: mov rax, [rbx+rcx*8]\nadc [rbx+rcx*8+8], rax\nlea rcx, [rcx-1]\n"
        "jrcxz .e\njmp .l\n.e: setc al"})
    expect_same(s, 8);
}

// A fault between a flag producer and its consumer, or in the producer's own memory store: the
// RFLAGS the #PF frame holds and st.rflags are the guest's at the faulting instruction.
TEST(EmuJit, FaultsBetweenProducerAndConsumerSeeExactFlags) {
  for (const char* s :
       {"cmp rax, rdx\nmov rcx, [r10]\njz .t\n.t:",
        "add rax, rdx\nmov rsi, [rbx+8]\nadc rcx, [r10]\nsetc al", "sub rax, rdx\nadd [r10], rcx",
        "add rax, rdx\ninc rcx\nadc qword [r10+8], 1",
        "cmp eax, edx\nmov [rbx+8], rax\nmov [r10], rax\ncmovz rax, rdx",
        "shl rax, cl\nmov rsi, [r10]",
        "imul rax, rdx\nmov rsi, [rbx+0xffd]\nmov rdi, [r10]\nseto al", "neg rax\nnot qword [r10]"})
    expect_same(s, 6);
}

// The instructions of `src` (64-bit code), decoded.
std::vector<x86::DecodedInst> decode_all(const std::string& src) {
  const auto code = assemble(64, src);
  std::vector<x86::DecodedInst> insts;
  x86::Decoder dec;
  for (size_t at = 0; at < code.size();) {
    x86::DecodedInst in;
    EXPECT_EQ(dec.decode(x86::CodeMode::k64, code.data() + at, code.size() - at, in),
              x86::DecodeStatus::kOk);
    if (!in.length) break;
    insts.push_back(in);
    at += in.length;
  }
  return insts;
}

// The liveness pass itself: flags overwritten before any reader are not live, flags a reader
// (Jcc at the end, ADC's CF) needs are, and all are around a memory access.
TEST(EmuJit, FlagLivenessPlan) {
  const auto insts = decode_all(
      "add rax, rdx\nsub rax, rcx\ninc rsi\nadc rdi, 1\n"
      "mov rax, [rbx]\ncmp rax, rsi\njz .t\n.t:");
  ASSERT_EQ(insts.size(), 7u);
  const jit::FlagPlan p = jit::plan_flags(insts);
  EXPECT_EQ(p.live_out[0], 0u);      // add: all overwritten by sub
  EXPECT_EQ(p.live_out[1], 1u);      // sub: only CF (inc keeps it, adc reads it)
  EXPECT_EQ(p.live_out[2], 1u);      // inc: CF is sub's, still live
  EXPECT_EQ(p.live_out[3], 0x8d5u);  // adc: before a memory access, everything
  EXPECT_EQ(p.live_out[5], 0x8d5u);  // cmp: read by the Jcc, the block's end
}

// One-operand MUL: dead flags after it cost nothing; a live undefined flag (SF/ZF/AF/PF come
// from the host run on the incoming flags) makes every flag live before it, CF/OF alone not.
TEST(EmuJit, FlagLivenessAroundMul) {
  const auto plan = [](const char* src) { return jit::plan_flags(decode_all(src)); };
  const jit::FlagPlan dead = plan("add rax, rdx\nmul rcx\nadd rax, r8\nsetc dl");
  EXPECT_EQ(dead.live_out[0], 0u);  // add: mul overwrites everything, nothing read from it
  EXPECT_EQ(dead.live_out[1], 0u);  // mul: the next add overwrites everything
  const jit::FlagPlan cf = plan("add rax, rdx\nmul rcx\nadc rdx, 0\nsub rax, rax");
  EXPECT_EQ(cf.live_out[0], 0u);  // mul's CF is defined: nothing flows through it
  EXPECT_EQ(cf.live_out[1], 1u);  // adc reads CF
  const jit::FlagPlan zf = plan("add rax, rdx\nimul rcx\nsetz dl\nsub rax, rax");
  EXPECT_EQ(zf.live_out[0], 0x8d5u);  // add: the undefined ZF may come from the incoming flags
  EXPECT_EQ(zf.live_out[1], 0x8d5u);  // imul: setz reads every condition flag
}

// The registers a block caches: the most named ones (bases, indexes and the implicit RSP
// count), at most five, none named only once.
TEST(EmuJitRegCache, ChoosesTheMostNamedRegisters) {
  const auto insts = decode_all(
      "mov rax, [rbx+rsi*8]\nadd rax, rdx\nadd [rbx+8], rax\npush rsi\npop rdx\n"
      "inc r12\nadd rcx, 1");
  const auto n = jit::gpr_references(insts);
  EXPECT_EQ(n[kRax], 3u);
  EXPECT_EQ(n[kRbx], 2u);
  EXPECT_EQ(n[kRsi], 2u);
  EXPECT_EQ(n[kRsp], 2u);  // PUSH and POP
  EXPECT_EQ(n[kRdx], 2u);
  EXPECT_EQ(n[kR12], 1u);
  const jit::RegCache c = jit::choose_cached_gprs(insts);
  EXPECT_EQ(c.count, 5u);
  EXPECT_EQ(c.host[kRax], 0);  // r8: the most named
  EXPECT_EQ(c.host[kRdx], 1);  // ties: the lower numbers first
  EXPECT_EQ(c.host[kRbx], 2);
  EXPECT_EQ(c.host[kRsp], 3);
  EXPECT_EQ(c.host[kRsi], 4);
  EXPECT_FALSE(c.has(kR12) || c.has(kRcx));
  const jit::RegCache full = jit::choose_cached_gprs(decode_all(
      "add rax, rcx\nadd rdx, rbx\nadd rsi, rdi\nadd r8, r9\nadd rax, rcx\nadd rdx, rbx\n"
      "add rsi, rdi\nadd r8, r9"));
  EXPECT_EQ(full.count, jit::kCacheRegs);  // eight named twice: the lower five
  EXPECT_TRUE(full.has(kRsi) && !full.has(kRdi) && !full.has(kR8) && !full.has(kR9));
  const jit::RegCache once = jit::choose_cached_gprs(decode_all("add rax, rdx\ninc rcx"));
  EXPECT_EQ(once.count, 0u);
  EXPECT_EQ(once.mask, 0u);
}

// Blocks whose registers live in host registers: random sequences over eight registers (five
// of them cached: r8-r12 in the host), with every partial width (AL/AH/AX/EAX), memory
// operands based and indexed on them, PUSH/POP, handler calls that read and write them in the
// middle (CPUID, XCHG, BSR, CQO, LAHF/SAHF, AH forms), slow-path memory accesses (the first touch
// of a page) and sometimes a #PF with the cached registers dirty: the same state as the
// interpreter's.
TEST(EmuJit, CachedRegistersMatchTheInterpreterOnRandomSequences) {
  // Eight registers: five cached, three not (moves and operations between the two kinds).
  const char* const q[] = {"rax", "rcx", "rdx", "rsi", "rdi", "r9", "rbp", "r12"};
  const char* const d[] = {"eax", "ecx", "edx", "esi", "edi", "r9d", "ebp", "r12d"};
  const char* const w[] = {"ax", "cx", "dx", "si", "di", "r9w", "bp", "r12w"};
  const char* const b[] = {"al", "cl", "dl", "sil", "dil", "r9b", "bpl", "r12b"};
  const char* const h[] = {"ah", "ch", "dh"};
  const char* const ops[] = {"add", "sub", "adc", "and", "or", "xor", "cmp"};
  std::mt19937_64 rng(11);
  const auto pick = [&](const auto& list) { return std::string(list[rng() % std::size(list)]); };
  unsigned cached_blocks = 0;
  for (int n = 0; n < 60; ++n) {
    std::string src;
    const int len = 8 + static_cast<int>(rng() % 24);
    for (int i = 0; i < len; ++i) {
      switch (rng() % 18) {
        case 0:
          src += pick(ops) + " " + pick(q) + ", " + pick(q);
          break;
        case 1:
          src += pick(ops) + " " + pick(d) + ", " + pick(d);
          break;
        case 2:
          src += pick(ops) + " " + pick(w) + ", " + pick(w);
          break;
        case 3:
          src += pick(ops) + " " + pick(b) + ", " + pick(b);
          break;
        case 4:
          src += "mov " + pick(b) + ", " + std::to_string(rng() % 256) + "\nmov " + pick(w) + ", " +
                 pick(w) + "\nmov " + pick(d) + ", " + pick(d);
          break;
        case 5:
          src += rng() % 2 ? "mov " + pick(h) + ", " + pick(h) : "add " + pick(h) + ", 3";
          break;
        case 6:
          src += "and esi, 31\nmov " + pick(q) + ", [rbx+rsi*2]\nadd [rbx+rsi+8], " + pick(d);
          break;
        case 7:
          src += "lea " + pick(q) + ", [" + pick(q) + "+" + pick(q) + "*4+7]";
          break;
        case 8:
          src += "push " + pick(q) + "\npop " + pick(q);
          break;
        case 9:
          src += "and eax, 7\nmov ecx, eax\ncpuid";
          break;
        case 10:
          src += pick(std::array{"xchg ", "bsr ", "bsf "}) + pick(q) + ", " + pick(q);
          break;
        case 11:
          src += pick(std::array{"cqo", "cdq", "lahf", "sahf", "cwd", "cbw"});
          break;
        case 12:
          src += pick(std::array{"inc ", "dec ", "neg ", "not "}) + pick(b);
          break;
        case 13:
          src += "shl " + pick(q) + ", cl\nimul " + pick(d) + ", " + pick(d);
          break;
        case 14:  // a page the TLB has not seen: the slow path, with r8-r12 and rbp live
          src += "mov " + pick(q) + ", [rbx+" + std::to_string(0x1000 * (1 + rng() % 8)) + "]";
          break;
        case 15:  // loads at 4 bytes (zero-extending), on the inline path and the slow one
          src += "mov " + pick(d) + ", [rbx+" +
                 std::to_string(rng() % 2 ? 4 * (rng() % 8) : 0x1000 * (1 + rng() % 8) + 4) + "]";
          break;
        case 16:  // conditional moves and sets, extensions, between cached and other registers
          src += "cmp " + pick(q) + ", " + pick(q) + "\n" +
                 pick(std::array{"cmovb ", "cmovz ", "cmovg ", "cmovns "}) +
                 pick(std::array{pick(q) + ", " + pick(q), pick(d) + ", " + pick(d),
                                 pick(w) + ", " + pick(w), pick(q) + ", [rbx+16]"}) +
                 "\n" + pick(std::array{"setb ", "setnz ", "setle "}) + pick(b) + "\n" +
                 pick(std::array{"movzx ", "movsx "}) +
                 pick(std::array{pick(q) + ", " + pick(b), pick(d) + ", " + pick(w),
                                 pick(w) + ", " + pick(b), pick(q) + ", word [rbx+6]"}) +
                 "\nmovsxd " + pick(q) + ", " + pick(d);
          break;
        default:
          src += rng() % 5 ? "add " + pick(q) + ", [rbx+8]" : "mov " + pick(q) + ", [r10]";
          break;
      }
      src += "\n";
    }
    cached_blocks += jit::choose_cached_gprs(decode_all(src)).count == jit::kCacheRegs;
    expect_same(src, 3);
  }
  EXPECT_GT(cached_blocks, 40u) << "the sequences should fill the register cache";
}

// A fault in the middle of a block whose cached registers are dirty (written, not yet stored):
// on the inline TLB path's miss (slow path), in a handler, and after a handler call.
TEST(EmuJit, FaultsWithDirtyCachedRegistersArePrecise) {
  for (const char* s :
       {"add rax, rcx\nadd rcx, rax\nmov dl, al\nmov ah, 3\nadd rax, [r10]\nadd rcx, 1",
        "inc rax\ninc rcx\nmov edx, ecx\nadd rax, rdx\npush rax\npop rcx\nmov [r10], rcx\ninc "
        "rax",
        "add rax, rcx\nadd rcx, rax\nxchg rax, [r10]\nadd rcx, rax",
        "add rax, rcx\nadd rcx, rax\ncpuid\nadd rax, rcx\nadd rcx, [r10+rax]\nadd rax, 1",
        "mov al, 1\nmov ax, 2\nmov eax, 3\nadd rcx, rax\nadd rcx, rax\ninc qword [r10+rcx]"})
    expect_same(s, 4);
}

// A handler in the middle reads the cached registers (written before it, not stored yet) and
// writes some of them (read after it from the host registers again).
TEST(EmuJit, HandlerCallReadsAndWritesCachedRegisters) {
  for (const char* s : {"and eax, 3\nadd rcx, rax\nxor ecx, ecx\nadd rbx, rax\ncpuid\nadd rax, "
                        "rbx\nadd rcx, rdx\nadd rdx, rax\nadd rbx, rcx",
                        "add rax, rdx\nadd rdx, rax\nxchg rax, rdx\nadd rax, rdx\nsub rdx, rax",
                        "add rax, rdx\nmov ah, dl\nadd al, ah\nadd rdx, rax\ncqo\nadd rax, rdx",
                        "add rax, rcx\nlahf\nadd rcx, rax\nsahf\nadc rax, rcx"})
    expect_same(s, 12);
}

// Partial writes of a cached register: the 8-bit (low and high), 16-bit and 32-bit forms
// (merge, merge, zero-extend) in both the native and the handler paths.
TEST(EmuJit, PartialWritesOfCachedRegisters) {
  for (const char* s :
       {"mov al, dl\nmov ah, dl\nadd al, 1\nadd ax, dx\nmov eax, eax\nadd rdx, rax\nadd al, dl",
        "add rax, rdx\nmov ax, -1\nadd rdx, rax\nmov eax, -1\nadd rdx, rax\nmov al, 0\nadd rdx, "
        "rax",
        "add rax, rdx\nsetz al\nadd rdx, rax\nnot ax\nneg al\nadd rdx, rax\nbswap eax\nadd rdx, "
        "rax",
        "add rax, rdx\nxor eax, eax\nadd rdx, rax\ninc ah\nadd rdx, rax\nmovzx eax, dh\nadd "
        "rdx, rax",
        "add rax, rdx\nshl ax, cl\nshr eax, cl\nadd rdx, rax\ncmovz eax, edx\ncmovnz ax, "
        "dx\nadd rdx, rax"})
    expect_same(s, 12);
}

// Immediate operands straight into the host instruction, on cached registers (named twice)
// and uncached ones, at every width, with immediates at the edges of imm8/imm16/imm32.
TEST(EmuJit, ImmediatesOnCachedRegisters) {
  const std::pair<const char*, const char*> regs[] = {
      {"rax", "rdx"}, {"eax", "edx"}, {"ax", "dx"}, {"al", "dl"}, {"r9", "r12"}};
  for (const char* op : {"add", "or", "and", "sub", "xor", "cmp", "test", "adc", "sbb", "mov"})
    for (const auto& [r, other] : regs)
      for (const char* imm : {"-3", "0x7f", "0x80", "0x7fff", "-0x8000", "0x12345678", "-1"}) {
        const std::string src = std::string(op) + " " + r + ", " + imm +
                                "\nadd rsi, rax\nadd rsi, "
                                "r9\nsbb " +
                                other + ", " + r + "\n" + op + " " + other + ", " + imm;
        expect_same(src, 1);
      }
}

// 32-bit protected mode without paging: memory operands take the inline TLB path only through
// a flat segment; a segment with a base, a short limit or no write permission must still
// relocate or fault exactly as the interpreter does.
struct Run32 {
  StopReason stop;
  CpuState st;
  std::vector<uint8_t> data;
  uint64_t native;
};
Run32 run32(ExecMode mode, const std::string& src, uint64_t ds_base, uint32_t ds_limit,
            uint8_t ds_type) {
  Env e;
  e.cpu.set_exec_mode(mode);
  e.cpu.set_jit_threshold(0);
  e.setup_gdt();
  auto& s = e.st();
  s = reset_state();
  s.cr0 = cr0::kPE | cr0::kET;
  s.gdt = {kGdt, 0x47};
  s.idt = {kIdt, 0};  // any fault ends in a triple fault: both engines must agree on it
  Segment cs{0x18, 0, 0xffffffff, 0xb, true, 0, true};
  cs.db = cs.g = true;
  Segment ds{0x10, 0, 0xffffffff, 0x3, true, 0, true};
  ds.db = ds.g = true;
  s.seg[kCs] = cs;
  for (int i : {kEs, kSs, kFs, kGs}) s.seg[i] = ds;
  ds.base = ds_base;
  ds.limit = ds_limit;
  ds.type = ds_type;
  s.seg[kDs] = ds;
  s.gpr[kRbx] = kData;
  s.gpr[kRsp] = kStack;
  s.rip = kCode;
  e.cpu.state_changed();
  for (uint64_t i = 0; i < 64; ++i) {  // different data where a base would and would not lead
    e.poke<uint8_t>(kData + i, static_cast<uint8_t>(i * 7 + 1));
    e.poke<uint8_t>(kData + 0x1000 + i, static_cast<uint8_t>(i * 13 + 5));
  }
  e.load(kCode, assemble(32, src, kCode));
  Run32 r;
  r.stop = e.cpu.run(100000);
  r.st = e.cpu.state();
  for (uint64_t i = 0; i < 64; ++i) r.data.push_back(e.peek<uint8_t>(kData + ds_base + i));
  r.native = e.cpu.jit_native_instructions();
  return r;
}

// RF set when the run loop enters a block (left by a traced REP iteration, or a loaded state)
// lasts one instruction in both engines: cleared after the block's first instruction, the
// block's work done all the same.
TEST(EmuJit, ResumeFlagAtABlockEntryLastsOneInstruction) {
  for (const ExecMode mode : {ExecMode::kInterp, ExecMode::kJit}) {
    Env e;
    e.cpu.set_exec_mode(mode);
    e.cpu.set_jit_threshold(0);
    e.long_mode(kCode);
    // One block of three instructions and a budget of three: no handler call after it (which
    // would clear RF as well).
    e.load(kCode, assemble(64, "mov eax, 1\nadd rax, 2\njmp .next\n.next: hlt", kCode));
    e.st().rflags |= rflags::kRF;
    EXPECT_EQ(e.cpu.run(3), StopReason::kInstructionLimit);
    EXPECT_EQ(e.st().rflags & rflags::kRF, 0u);
    EXPECT_EQ(e.st().gpr[kRax], 3u);
  }
}

// 64-bit FS- and GS-relative accesses on the inline TLB path, which adds the segment's base:
// small bases, so that a lookup without them would hit the TLB entry the plain access [rbx]
// filled and read the wrong bytes; loads and stores through both, one crossing a page and a
// #PF (CR2 is the base plus the offset), the same as the interpreter.
TEST(EmuJit, FsAndGsBasesOnTheInlinePath) {
  const std::string bases =
      "mov ecx, 0xc0000100\nmov eax, 0x18\nxor edx, edx\nwrmsr\n"  // FS base
      "mov ecx, 0xc0000101\nmov eax, 0x20\nxor edx, edx\nwrmsr\n"  // GS base
      "mov rax, [rbx]\n";                                          // the TLB entry of kData's page
  for (const std::string& s :
       {bases +
            "mov rcx, fs:[rbx+8]\nadd gs:[rbx+16], rcx\nmov rdx, gs:[rbx+16]\nmov rsi, [rbx+48]",
        bases + "mov rax, fs:[rbx+0xfe4]\nmov fs:[rbx+0xfe4], rdx\nmov rdi, fs:[rbx+0xfe4]",
        bases + "mov rcx, fs:[rbx+8]\nmov rdx, fs:[r10]"})
    expect_same(s, 4);
}

TEST(EmuJit, ThirtyTwoBitSegmentsOnTheInlinePath) {
  const std::string src =
      // The ES (flat) load first puts the page of offset EBX in the TLB.
      "mov esi, [es:ebx+8]\nmov ecx, 40\n.a: add [ebx+8], ecx\nmov eax, [ebx+8]\npush eax\npop "
      "edx\n"
      "mov [ebx+ecx], dl\ndec ecx\njnz .a\nhlt";
  struct Case {
    uint64_t base;
    uint32_t limit;
    uint8_t type;
  };
  for (const Case c : {Case{0, 0xffffffff, 3}, Case{0x1000, 0xffffffff, 3}, Case{0, 0xfff, 3},
                       Case{0, 0xffffffff, 1}, Case{0, 0xffffffff, 7}}) {
    SCOPED_TRACE(testing::Message()
                 << "DS base " << c.base << " limit " << c.limit << " type " << int(c.type));
    const Run32 a = run32(ExecMode::kInterp, src, c.base, c.limit, c.type);
    const Run32 b = run32(ExecMode::kJit, src, c.base, c.limit, c.type);
    EXPECT_EQ(a.stop, b.stop);
    for (int r = 0; r < 8; ++r) EXPECT_EQ(a.st.gpr[r], b.st.gpr[r]) << "gpr " << r;
    EXPECT_EQ(a.st.rip, b.st.rip);
    EXPECT_EQ(a.st.rflags, b.st.rflags);
    EXPECT_EQ(a.data, b.data);
    EXPECT_GT(b.native, 0u);
  }
  // The flat case ran to its HLT, the others faulted or relocated as they should.
  EXPECT_EQ(run32(ExecMode::kJit, src, 0, 0xffffffff, 3).stop, StopReason::kHalt);
  EXPECT_EQ(run32(ExecMode::kJit, src, 0, 0xfff, 3).stop, StopReason::kShutdown);
}

// The cache is bounded: commits never go past its end, and a flush starts it over with a new
// generation (which is what makes every older translation invalid).
TEST(EmuJit, CodeCacheIsBoundedAndFlushesWhole) {
  jit::CodeCache cache;
  ASSERT_TRUE(cache.ok());
  const uint64_t gen = cache.generation();
  uint8_t* const start = cache.free_ptr();
  cache.commit(100);
  EXPECT_EQ(cache.free_ptr(), start + 112);  // 16-byte aligned entries
  cache.commit(jit::CodeCache::kSize);
  EXPECT_EQ(cache.free_bytes(), 0u);
  cache.flush();
  EXPECT_EQ(cache.free_ptr(), start);
  EXPECT_EQ(cache.free_bytes(), jit::CodeCache::kSize);
  EXPECT_EQ(cache.generation(), gen + 1);
  EXPECT_EQ(cache.flushes(), 1u);
}

}  // namespace
}  // namespace vessel::engine::emu::test
