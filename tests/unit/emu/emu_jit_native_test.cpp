// The native translations of DIV/IDIV, the AH..BH byte forms, BT/BTS/BTR/BTC, CMPXCHG,
// PUSHFQ, CLI/STI, MOV r/m, Sreg, CBW..CQO, the prefetch NOPs and JMP/CALL through a
// register or memory, against the interpreter (emu_jit_compare.hpp): results, flags (a
// producer before, consumers after), faults (#DE, #PF with precise state), cached registers.
// Each case also checks that the translation did not call the family's handler.
#include <string>

#include "emu_jit_compare.hpp"

namespace vessel::engine::emu::test {
namespace {

// expect_same, and translated code called no handler but the final HLT's (the #PF, #DE,
// #GP, ... handler is a HLT too).
void expect_native(const std::string& src, int seeds = 12) {
  expect_same(src, seeds);
  const auto code = assemble(64, src + "\nhlt", kCode);
  for (int seed = 1; seed <= seeds; ++seed) {
    const Outcome o = run_one(ExecMode::kJit, code, seed);
    const auto at = o.stats.find("most frequent fallbacks: ");
    ASSERT_NE(at, std::string::npos) << o.stats;
    const std::string top = o.stats.substr(at + 25);
    EXPECT_TRUE(top == "none" || top == "HLT 1") << src << ": " << top;
  }
}

TEST(EmuJitNative, DivIdiv) {
  for (const char* op : {"div", "idiv"}) {
    const std::string o = op;
    // Quotients that fit (RDX small or the sign of RAX), every size, register and memory;
    // flags with a producer before and consumers after; cached RAX/RDX around it; #PF on the
    // memory operand (nothing done).
    const bool sig = o == "idiv";
    // The dividend's high half: 0 for DIV, the sign of the low half for IDIV.
    const std::string x64 = sig ? "cqo\n" : "xor edx, edx\n",
                      x32 = sig ? "cdq\n" : "xor edx, edx\n",
                      x16 = sig ? "cwd\n" : "xor edx, edx\n";
    for (const std::string& s :
         {x64 + "or ecx, 1\n" + o + " rcx", x64 + "or rsi, 0x100\n" + o + " rsi",
          x32 + "or esi, 1\n" + o + " esi", x16 + "or esi, 1\n" + o + " si",
          x32 + "or r9d, 1\n" + o + " r9d", x16 + "or r9d, 1\n" + o + " r9w",
          x64 + "or qword [rbx+8], 1\n" + o + " qword [rbx+8]",
          x32 + "or dword [rbx+12], 1\n" + o + " dword [rbx+12]",
          x16 + "or word [rbx+6], 0x100\n" + o + " word [rbx+6]",
          "add rax, rdx\n" + x64 + "or ecx, 1\n" + o + " rcx\nsetz r8b\nsetc r9b\npushfq\npop r11",
          x64 + "or ecx, 1\n" + o + " rcx\nadd rax, rdx\nadd rdx, rax\nsub rax, 5\nadd rdx, rax",
          "add rax, 1\n" + x64 + o + " qword [r10]"})
      expect_native(s, 16);
    // The handler's: #DE for a divisor 0, a quotient too large, IDIV MIN / -1; an IDIV
    // dividend wider than its low half whose quotient fits.
    for (const std::string& s : {"xor ecx, ecx\n" + o + " rcx", "or rdx, rcx\n" + o + " rcx",
                                 "mov rdx, rax\n" + o + " ecx",
                                 "mov rax, 0x8000000000000000\ncqo\nmov rcx, -1\n" + o + " rcx",
                                 "mov eax, 0x80000000\ncdq\nmov ecx, -1\n" + o + " ecx",
                                 "mov edx, 1\nmov rcx, 0x7fffffff\nshl rcx, 8\n" + o + " rcx",
                                 (sig ? "xor edx, edx\n" : "cqo\n") + o + " rcx",
                                 "add rax, rdx\nxor ecx, ecx\n" + o + " ecx\nsetz r8b"})
      expect_same(s, 16);
  }
}

TEST(EmuJitNative, HighByteOperands) {
  for (const char* s : {"movzx eax, ah",
                        "movzx esi, bh",
                        "movsx ecx, dh",
                        "movsx di, ch",
                        "movzx ax, ah",
                        "test ah, dl",
                        "test ah, ah",
                        "test bh, 0x40",
                        "test [rbx+3], ch",
                        "and ah, 0x7f",
                        "or dh, al",
                        "xor ch, bh",
                        "add ah, [rbx+5]",
                        "sub bh, 3",
                        "cmp dh, ah",
                        "cmp ah, 0x80",
                        "adc ah, dl",
                        "sbb ch, 1",
                        "and [rbx+9], dh",
                        "add ah, al\nsetz cl\nadd rax, rdx",
                        "add rax, rcx\nadc ah, 0\nadc rdx, 0",
                        "xor ah, ah\nmov r8, rax\nadd rax, 1",
                        "mov rsi, r10\nadd [rsi], ah"})
    expect_native(s);
}

TEST(EmuJitNative, BitTests) {
  for (const char* op : {"bt", "bts", "btr", "btc"}) {
    const std::string o = op;
    for (const std::string& s :
         {o + " rax, rcx", o + " eax, ecx", o + " ax, cx", o + " rdx, 63", o + " edx, 33",
          o + " r9w, 17", o + " qword [rbx+8], 45", o + " dword [rbx+12], 7",
          o + " word [rbx+6], 15", o + " rsi, rsi",
          "add rax, rdx\n" + o + " rax, 3\nsetc cl\nsetz dl\npushfq\npop r11",
          o + " rcx, 5\nadc rax, 0\nadd rcx, rax", o + " qword [r10+8], 1",
          // bit strings: a register offset moves the address (signed), every size
          o + " qword [rbx+16], rcx", o + " dword [rbx+24], ecx", o + " word [rbx+24], cx",
          "mov rsi, -70\n" + o + " qword [rbx+40], rsi",
          "mov esi, -33\n" + o + " dword [rbx+40], esi", "mov si, -17\n" + o + " word [rbx+40], si",
          "mov rsi, 1 << 40\n" + o + " qword [rbx], rsi"})
      expect_native(s);
  }
}

TEST(EmuJitNative, Cmpxchg) {
  for (const char* s : {"cmpxchg rcx, rdx",
                        "mov rcx, rax\ncmpxchg rcx, rdx",
                        "cmpxchg ecx, edx",
                        "mov ecx, eax\ncmpxchg ecx, edx",
                        "cmpxchg cx, dx",
                        "mov cx, ax\ncmpxchg cx, dx",
                        "cmpxchg cl, dl",
                        "mov cl, al\ncmpxchg cl, dl",
                        "cmpxchg rax, rdx",
                        "cmpxchg eax, edx",
                        "cmpxchg rdx, rax",
                        "cmpxchg [rbx+8], rdx",
                        "mov rax, [rbx+8]\ncmpxchg [rbx+8], rdx",
                        "cmpxchg [rbx+12], edx",
                        "mov eax, [rbx+12]\ncmpxchg [rbx+12], edx",
                        "mov ax, [rbx+6]\ncmpxchg [rbx+6], dx",
                        "cmpxchg [rbx+3], cl",
                        "mov rax, rcx\ncmpxchg rcx, rsi\nsetz dl\njnz .t\nadd rax, 1\n.t:",
                        "add rax, rdx\ncmpxchg [r10], rcx",
                        "mov rax, [rbx]\ncmpxchg [r10], rcx"})
    expect_native(s);
}

TEST(EmuJitNative, PushfqCliSti) {
  for (const char* s :
       {"pushfq\npop rax", "add rax, rdx\npushfq\npop rcx",
        "cmp rax, rdx\npushfq\nsetz al\npop rcx", "sub rsi, 1\npushfq\nmov rsp, r10\n"})
    expect_native(s);
  for (const char* s : {"cli\npushfq\npop rax", "add rax, rdx\ncli\nsetz al\npushfq\npop rcx",
                        "sti\nnop\ncli\npushfq\npop rax"})
    expect_native(s);
  for (const char* s : {"sti\npushfq\npop rax", "cli\nsti\nnop\npushfq\npop rax",
                        "add rax, rdx\nsti\nsetz al\npushfq\npop rcx"})
    expect_native(s);
}

TEST(EmuJitNative, MovFromSreg) {
  for (const char* s : {"mov eax, ds", "mov rax, ss", "mov ax, cs", "mov [rbx+8], es",
                        "mov r9d, fs\nmov r9w, gs", "mov [r10], ds"})
    expect_native(s);
}

TEST(EmuJitNative, WidenRaxRdx) {
  for (const char* s : {"cbw", "cwde", "cdqe", "cwd", "cdq", "cqo", "add rax, rdx\ncdqe\nsetz cl"})
    expect_native(s);
}

TEST(EmuJitNative, PrefetchNeverAccesses) {
  for (const char* s :
       {"prefetcht0 [rbx]", "prefetchnta [r10]", "prefetcht1 [r10+rcx*8]", "prefetcht2 [rax]",
        "prefetchw [r10]", "add rax, rdx\nprefetcht0 [r10]\nsetz al", "pause\nendbr64\nadd rax, 1"})
    expect_native(s);
}

TEST(EmuJitNative, IndirectJmpCall) {
  for (const char* s : {"lea rax, [rel .t]\njmp rax\nmov ecx, 1\n.t:",
                        "lea rax, [rel .t]\nmov [rbx+8], rax\njmp [rbx+8]\nmov ecx, 1\n.t:",
                        "lea rax, [rel .f]\ncall rax\njmp .e\n.f: add rcx, 1\nret\n.e:",
                        "lea rax, [rel .f]\nmov [rbx+16], rax\ncall qword [rbx+16]\njmp .e\n"
                        ".f: add rcx, 1\nret\n.e:",
                        "add rax, rdx\njmp [r10]", "add rax, rdx\ncall [r10+8]"})
    expect_native(s);
  for (const char* s :
       {"lea rax, [rel .f]\nmov [rbx+16], rax\ncall qword [rbx+16]\njmp .e\n.f: ret\n.e:"})
    expect_native(s);
}

// 128-bit moves: register to register, aligned and unaligned memory both ways, the #GP of a
// misaligned aligned form, an unaligned operand crossing into an unmapped page (#PF as a
// whole: nothing stored), #PF on the first half.
TEST(EmuJitNative, Sse128Moves) {
  const std::string fill = "movdqu xmm1, [rbx]\nmovdqu xmm2, [rbx+16]\n";
  for (const std::string& s :
       {fill + "movaps xmm3, xmm1\nmovdqu [rbx+32], xmm3",
        fill + "movdqa xmm9, xmm2\nmovups [rbx+40], xmm9",
        std::string("movaps xmm4, [rbx+16]\nmovups [rbx+3], xmm4"),
        fill + "movapd [rbx+32], xmm2\nmovdqa xmm5, [rbx+32]\nmovdqu [rbx+1], xmm5",
        fill + "movntdq [rbx+16], xmm1\nmovntps [rbx+32], xmm2",
        fill + "movupd xmm6, [rbx+7]\nmovdqu [rbx+48], xmm6", fill + "movaps xmm3, [rbx+8]",
        fill + "movdqa [rbx+4], xmm1", fill + "lea rsi, [r10-8]\nmovdqu [rsi], xmm1",
        fill + "lea rsi, [r10-8]\nmovups xmm3, [rsi]", fill + "movdqu [r10], xmm1",
        fill + "add rax, rdx\nmovdqa xmm3, [r10]",
        std::string("add rax, rdx\nmovaps xmm0, xmm1\nsetz cl\npushfq\npop rdx"),
        // SSE unusable: #NM (CR0.TS), #UD (CR4.OSFXSR clear)
        fill + "mov rax, cr0\nor eax, 8\nmov cr0, rax\nmovaps xmm3, xmm1",
        fill + "mov rax, cr4\nand eax, ~0x200\nmov cr4, rax\nmovdqu [rbx], xmm1"})
    expect_same(s, 6);
  for (const std::string& s : {fill + "movaps xmm3, xmm1\nmovdqu [rbx+32], xmm3",
                               fill + "movdqa [rbx+16], xmm1\nmovapd xmm3, [rbx+16]"})
    expect_native(s, 6);
}

}  // namespace
}  // namespace vessel::engine::emu::test
