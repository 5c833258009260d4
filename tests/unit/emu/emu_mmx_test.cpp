// MMX on the software CPU against this host's own MMX unit: each instruction runs on
// operands loaded from memory, once in the guest and once natively (the same nasm source,
// mapped executable in this process), and the 64-bit results must be equal. Also the x87
// aliasing (TOP = 0, tags valid, exponent bits all ones; EMMS empties the tags), MOVD/MOVQ
// forms, and the #UD/#NM/#MF availability rules.
#include <Zydis/Zydis.h>
#include <sys/mman.h>

#include <cstring>
#include <set>

#include "emu_test_util.hpp"

namespace vessel::engine::emu::test {
namespace {

using namespace arch;

constexpr uint64_t kData = 0x7000;  // in: a, b at +0/+8; out: mm0 at +16, eax at +24

const uint64_t kInputs[][2] = {
    {0x0123456789abcdefull, 0xfedcba9876543210ull},
    {0x7fff8000ffff0001ull, 0x80017ffe00020003ull},
    {0x00ff7f80017e81feull, 0x01fe807f7f800101ull},
    {0x0000000000000011ull, 0x0000000000000003ull},
    // As floats: 1.5, -2.5 | 2^30, 2^31 (out of int32 range); as doubles: 1.5 | -2.5.
    {0xc02000003fc00000ull, 0x4f0000004e800000ull},
    {0x3ff8000000000000ull, 0xc004000000000000ull},
};

// `body` works on mm0 (a) and mm1 (b); rdi points at the data block.
std::string program(const std::string& body) {
  return "mov dword [rsp - 8], 0x1f80\nldmxcsr [rsp - 8]\n"
         "movq mm0, [rdi]\nmovq mm1, [rdi + 8]\nxor eax, eax\n" +
         body + "\nmovq [rdi + 16], mm0\nmov [rdi + 24], eax\nemms\n";
}

struct Result {
  uint64_t mm0;
  uint32_t eax;
};

Result on_host(const std::string& body, uint64_t a, uint64_t b) {
  const std::vector<uint8_t> code = assemble(64, program(body) + "ret");
  void* p =
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED);
  std::memcpy(p, code.data(), code.size());
  alignas(16) uint64_t data[4] = {a, b, 0, 0};
  reinterpret_cast<void (*)(uint64_t*)>(p)(data);
  munmap(p, 4096);
  return {data[2], static_cast<uint32_t>(data[3])};
}

Result on_emu(const std::string& body, uint64_t a, uint64_t b) {
  Env e;
  e.long_mode(kCode);
  e.st().cr4 |= cr4::kOSFXSR;
  e.poke<uint64_t>(kData, a);
  e.poke<uint64_t>(kData + 8, b);
  e.st().gpr[kRdi] = kData;
  EXPECT_EQ(e.run_code(program(body) + "hlt"), StopReason::kHalt) << e.cpu.error();
  return {e.peek<uint64_t>(kData + 16), e.peek<uint32_t>(kData + 24)};
}

// MXCSR's exception flags after the body (they start clear).
const std::string kMxcsrToEax = "\nstmxcsr [rsp - 8]\nmov eax, [rsp - 8]\nand eax, 0x3f";

TEST(EmuMmx, ResultsMatchTheHostCpu) {
  const std::string bodies[] = {
      "paddb mm0, mm1",
      "paddw mm0, mm1",
      "paddd mm0, mm1",
      "paddq mm0, mm1",
      "paddsb mm0, mm1",
      "paddsw mm0, mm1",
      "paddusb mm0, mm1",
      "paddusw mm0, mm1",
      "psubb mm0, mm1",
      "psubw mm0, mm1",
      "psubd mm0, mm1",
      "psubq mm0, mm1",
      "psubsb mm0, mm1",
      "psubsw mm0, mm1",
      "psubusb mm0, mm1",
      "psubusw mm0, mm1",
      "pmullw mm0, mm1",
      "pmulhw mm0, mm1",
      "pmulhuw mm0, mm1",
      "pmuludq mm0, mm1",
      "pmaddwd mm0, mm1",
      "pavgb mm0, mm1",
      "pavgw mm0, mm1",
      "pminub mm0, mm1",
      "pmaxub mm0, mm1",
      "pminsw mm0, mm1",
      "pmaxsw mm0, mm1",
      "psadbw mm0, mm1",
      "pcmpeqb mm0, mm1",
      "pcmpeqw mm0, mm1",
      "pcmpeqd mm0, mm1",
      "pcmpgtb mm0, mm1",
      "pcmpgtw mm0, mm1",
      "pcmpgtd mm0, mm1",
      "packsswb mm0, mm1",
      "packssdw mm0, mm1",
      "packuswb mm0, mm1",
      "punpcklbw mm0, mm1",
      "punpcklwd mm0, mm1",
      "punpckldq mm0, mm1",
      "punpckhbw mm0, mm1",
      "punpckhwd mm0, mm1",
      "punpckhdq mm0, mm1",
      "psllw mm0, mm1",
      "pslld mm0, mm1",
      "psllq mm0, mm1",
      "psrlw mm0, mm1",
      "psrld mm0, mm1",
      "psrlq mm0, mm1",
      "psraw mm0, mm1",
      "psrad mm0, mm1",
      "psllw mm0, 3",
      "pslld mm0, 17",
      "psllq mm0, 33",
      "psrlw mm0, 5",
      "psrld mm0, 31",
      "psrlq mm0, 63",
      "psraw mm0, 9",
      "psrad mm0, 40",
      "pand mm0, mm1",
      "pandn mm0, mm1",
      "por mm0, mm1",
      "pxor mm0, mm1",
      "paddw mm0, [rdi + 8]",
      "punpcklbw mm0, [rdi + 8]",
      "pshufw mm0, mm1, 0x1b",
      "pshufw mm0, [rdi + 8], 0xe4",
      "pmovmskb eax, mm1",
      "pextrw eax, mm1, 2",
      "pinsrw mm0, [rdi + 8], 3",
      "movd eax, mm1",
      "movd mm0, [rdi + 8]",
      "movq rax, mm1\nshr rax, 16",
      "movq mm0, rdi\nmovq mm0, mm1",
      // SSE/SSE2 forms with MMX operands; eax gets MXCSR's flags where they can be raised.
      "cvtpi2ps xmm0, mm1\nmovdq2q mm0, xmm0",
      "cvtpi2ps xmm0, [rdi + 8]\nmovdq2q mm0, xmm0",
      "cvtpi2pd xmm0, mm1\nmovdq2q mm0, xmm0\npunpckhqdq xmm0, xmm0\nmovq rax, xmm0\nshr rax, 32",
      "cvtpi2pd xmm0, [rdi]\nmovdq2q mm0, xmm0",
      "movq xmm0, [rdi + 8]\ncvtps2pi mm0, xmm0" + kMxcsrToEax,
      "movq xmm0, [rdi]\ncvttps2pi mm0, xmm0" + kMxcsrToEax,
      "cvtps2pi mm0, [rdi + 8]" + kMxcsrToEax,
      "movdqa xmm0, [rdi]\ncvtpd2pi mm0, xmm0" + kMxcsrToEax,
      "cvttpd2pi mm0, [rdi]" + kMxcsrToEax,
      "maskmovq mm1, mm0\nmovq mm0, [rdi]",
  };
  for (const std::string& body : bodies) {
    for (const auto& in : kInputs) {
      SCOPED_TRACE(body + " with " + std::to_string(in[0]) + ", " + std::to_string(in[1]));
      const Result want = on_host(body, in[0], in[1]);
      const Result got = on_emu(body, in[0], in[1]);
      EXPECT_EQ(got.mm0, want.mm0);
      EXPECT_EQ(got.eax, want.eax);
    }
  }
}

// Every MMX/SSE/SSE2 encoding (0F and 0F 38/3A maps, each mandatory prefix, register and
// memory ModRM forms) that names an MMX register runs without #UD: the CPUID model advertises
// these extensions, so none may be missing from the handler table.
TEST(EmuMmx, EveryAdvertisedFormWithMmxOperandsIsImplemented) {
  ZydisDecoder dec;
  ZydisDecoderInit(&dec, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  std::set<std::string> missing;
  unsigned checked = 0;
  for (const std::vector<uint8_t>& map : {std::vector<uint8_t>{0x0f}, {0x0f, 0x38}, {0x0f, 0x3a}})
    for (uint8_t prefix : {0, 0x66, 0xf2, 0xf3})
      for (unsigned op = 0; op < 256; ++op)
        for (uint8_t modrm : {0xc1, 0x01}) {  // mm0/xmm0, mm1/xmm1/ecx; or [rcx]
          std::vector<uint8_t> bytes;
          if (prefix) bytes.push_back(prefix);
          bytes.insert(bytes.end(), map.begin(), map.end());
          bytes.push_back(static_cast<uint8_t>(op));
          bytes.push_back(modrm);
          bytes.push_back(0);  // an imm8 if the form takes one
          ZydisDecodedInstruction zi;
          ZydisDecodedOperand zo[ZYDIS_MAX_OPERAND_COUNT];
          if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&dec, bytes.data(), bytes.size(), &zi, zo)))
            continue;
          if (zi.meta.isa_ext != ZYDIS_ISA_EXT_MMX && zi.meta.isa_ext != ZYDIS_ISA_EXT_SSE &&
              zi.meta.isa_ext != ZYDIS_ISA_EXT_SSE2)
            continue;
          bool mmx = false;
          for (unsigned i = 0; i < zi.operand_count; ++i)
            mmx |= zo[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
                   ZydisRegisterGetClass(zo[i].reg.value) == ZYDIS_REGCLASS_MMX;
          if (!mmx) continue;
          bytes.resize(zi.length);
          Env e;
          e.long_mode(kCode);
          e.st().cr4 |= cr4::kOSFXSR;
          e.st().gpr[kRcx] = kData;  // 16-byte aligned: the aligned m128 forms do not #GP
          e.st().gpr[kRdi] = kData;  // MASKMOVQ's destination
          e.set_gate(vec::kUD, kHandlers);
          e.load(kHandlers, assemble(64, "mov r15, 6\nhlt"));
          bytes.push_back(0xf4);  // hlt
          e.load(kCode, bytes);
          ++checked;
          ASSERT_EQ(e.cpu.run(10), StopReason::kHalt);
          if (e.st().gpr[kR15] == 6) missing.insert(ZydisMnemonicGetString(zi.mnemonic));
        }
  EXPECT_GT(checked, 100u);
  std::string list;
  for (const auto& m : missing) list += m + " ";
  EXPECT_TRUE(missing.empty()) << "#UD: " << list;
}

TEST(EmuMmx, AliasesTheX87Registers) {
  Env e;
  e.long_mode(kCode);
  e.st().cr4 |= cr4::kOSFXSR;
  // FLD1 twice: TOP = 6. MOVQ mm3 then moves TOP to 0 and marks every register valid.
  ASSERT_EQ(e.run_code("fninit\nfld1\nfld1\nmov rax, 0x1122334455667788\nmovq mm3, rax\nhlt"),
            StopReason::kHalt);
  const FpuState& f = e.st().fpu;
  EXPECT_EQ((f.fsw >> 11) & 7, 0);
  EXPECT_EQ(f.ftw, 0xff);
  uint64_t lo;
  std::memcpy(&lo, f.st[3].data(), 8);
  EXPECT_EQ(lo, 0x1122334455667788u);
  EXPECT_EQ(f.st[3][8], 0xff);
  EXPECT_EQ(f.st[3][9], 0xff);
  // The 1.0 pushed last was physical register 6: it is now ST(6), unchanged (exponent 3fff).
  EXPECT_EQ(f.st[6][9], 0x3f);
  EXPECT_EQ(f.st[6][8], 0xff);
  e.load(kCode + 0x1000, assemble(64, "emms\nhlt"));
  e.st().rip = kCode + 0x1000;
  e.st().events.halted = false;
  ASSERT_EQ(e.cpu.run(10), StopReason::kHalt);
  EXPECT_EQ(e.st().fpu.ftw, 0);
}

// CVTPI2PS from memory is a plain SSE instruction: the x87 stack keeps TOP and its tags, and a
// pending x87 exception is not taken; from an MM register it is an MMX instruction (#MF
// first, then MMX state).
TEST(EmuMmx, ConversionsEnterMmxStateOnlyWithAnMmRegister) {
  for (const bool from_mm : {false, true}) {
    SCOPED_TRACE(from_mm);
    Env e;
    e.long_mode(kCode);
    e.st().cr4 |= cr4::kOSFXSR;
    e.st().gpr[kRdi] = kData;
    e.set_gate(vec::kMF, kHandlers);
    e.load(kHandlers, assemble(64, "mov r15, 16\nhlt"));
    const std::string cvt = from_mm ? "cvtpi2ps xmm0, mm2" : "cvtpi2ps xmm0, [rdi]";
    ASSERT_EQ(e.run_code("fninit\nfld1\n" + cvt + "\nhlt"), StopReason::kHalt);
    EXPECT_EQ((e.st().fpu.fsw >> 11) & 7, from_mm ? 0 : 7);
    EXPECT_EQ(e.st().fpu.ftw, from_mm ? 0xff : 0x80);
    EXPECT_EQ(e.st().gpr[kR15], 0u);
    // With an unmasked exception pending (ES) and CR0.NE set.
    e.st().cr0 |= cr0::kNE;
    e.st().fpu.fsw |= 0x81;
    e.load(kCode + 0x1000, assemble(64, cvt + "\nhlt"));
    e.st().rip = kCode + 0x1000;
    e.st().events.halted = false;
    ASSERT_EQ(e.cpu.run(100), StopReason::kHalt);
    EXPECT_EQ(e.st().gpr[kR15], from_mm ? 16u : 0u);
  }
}

TEST(EmuMmx, UnavailableFaults) {
  for (const auto& [cr0_bits, fsw, vector] :
       {std::tuple{cr0::kEM, 0, vec::kUD}, std::tuple{cr0::kTS, 0, vec::kNM},
        std::tuple{cr0::kNE, 0x81, vec::kMF}}) {
    SCOPED_TRACE(vector);
    Env e;
    e.long_mode(kCode);
    e.st().cr0 |= cr0_bits;
    e.st().fpu.fsw = static_cast<uint16_t>(fsw);  // IE pending and unmasked: ES set
    e.set_gate(vector, kHandlers);
    e.load(kHandlers, assemble(64, "mov r15, 1\nhlt"));
    ASSERT_EQ(e.run_code("paddb mm0, mm1\nhlt"), StopReason::kHalt);
    EXPECT_EQ(e.st().gpr[kR15], 1u);
  }
}

}  // namespace
}  // namespace vessel::engine::emu::test
