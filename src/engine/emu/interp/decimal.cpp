// Decimal (BCD) arithmetic (SDM Vol. 1 §7.3.5.2; Vol. 2 DAA, DAS, AAA, AAS, AAM, AAD). All six
// are invalid in 64-bit mode, where the decoder already turns their opcodes into #UD. The host
// cannot run them for us (its 64-bit mode lacks them too), so the flags are computed here.
//
// Flags the SDM leaves undefined, and the choice made (the same as QEMU TCG, so payloads can
// compare the defined ones on every engine):
//   DAA/DAS: OF cleared.
//   AAA/AAS: OF, SF, ZF, PF keep their old values (only CF and AF are written).
//   AAM/AAD: OF, AF, CF cleared (flags as for a logical operation on the AL result).
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

// SF, ZF and PF of an 8-bit result.
uint64_t szp8(uint8_t v) {
  uint64_t f = 0;
  if (v & 0x80) f |= rflags::kSF;
  if (v == 0) f |= rflags::kZF;
  if (!__builtin_parity(v)) f |= rflags::kPF;
  return f;
}

uint8_t al(const Cpu& c) {
  return static_cast<uint8_t>(c.st.gpr[kRax]);
}

void DAA(Cpu& c, const DecodedInst&) {
  const uint8_t old_al = al(c);
  const bool old_cf = c.st.rflags & rflags::kCF, old_af = c.st.rflags & rflags::kAF;
  uint8_t v = old_al;
  uint64_t f = 0;
  if ((v & 0xf) > 9 || old_af) {
    if (old_cf || v > 0xf9) f |= rflags::kCF;  // carry out of AL + 6
    v = static_cast<uint8_t>(v + 6);
    f |= rflags::kAF;
  }
  if (old_al > 0x99 || old_cf) {
    v = static_cast<uint8_t>(v + 0x60);
    f |= rflags::kCF;
  } else {
    f &= ~rflags::kCF;
  }
  set_gpr(c, kRax, 1, v);
  flags_out(c, f | szp8(v) | 2);
}

void DAS(Cpu& c, const DecodedInst&) {
  const uint8_t old_al = al(c);
  const bool old_cf = c.st.rflags & rflags::kCF, old_af = c.st.rflags & rflags::kAF;
  uint8_t v = old_al;
  uint64_t f = 0;
  if ((v & 0xf) > 9 || old_af) {
    if (old_cf || v < 6) f |= rflags::kCF;  // borrow from AL - 6
    v = static_cast<uint8_t>(v - 6);
    f |= rflags::kAF;
  }
  if (old_al > 0x99 || old_cf) {  // no "else": CF keeps the borrow of the first step
    v = static_cast<uint8_t>(v - 0x60);
    f |= rflags::kCF;
  }
  set_gpr(c, kRax, 1, v);
  flags_out(c, f | szp8(v) | 2);
}

// AAA/AAS: the adjustment applies to all of AX (AX ± 106H in the current SDM, so AL's carry
// or borrow reaches AH), then AL keeps its low nibble.
template <bool kSub>
void ascii_adjust(Cpu& c, const DecodedInst&) {
  uint16_t ax = static_cast<uint16_t>(c.st.gpr[kRax]);
  const bool adjust = (ax & 0xf) > 9 || (c.st.rflags & rflags::kAF);
  if (adjust) ax = static_cast<uint16_t>(kSub ? ax - 6 - 0x100 : ax + 0x106);
  set_gpr(c, kRax, 2, ax & 0xff0f);
  flags_out(c, adjust ? rflags::kCF | rflags::kAF : 0, rflags::kCF | rflags::kAF);
}

void AAM(Cpu& c, const DecodedInst& in) {
  const uint8_t base = static_cast<uint8_t>(in.ops[0].value);
  if (base == 0) raise(vec::kDE);
  const uint8_t a = al(c);
  const uint8_t lo = a % base;
  set_gpr(c, kRax, 2, static_cast<uint16_t>((a / base) << 8 | lo));
  flags_out(c, szp8(lo) | 2);
}

void AAD(Cpu& c, const DecodedInst& in) {
  const uint8_t base = static_cast<uint8_t>(in.ops[0].value);
  const uint16_t ax = static_cast<uint16_t>(c.st.gpr[kRax]);
  const uint8_t v = static_cast<uint8_t>((ax & 0xff) + (ax >> 8) * base);
  set_gpr(c, kRax, 2, v);
  flags_out(c, szp8(v) | 2);
}

}  // namespace

void register_decimal(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_DAA] = DAA;
  t[ZYDIS_MNEMONIC_DAS] = DAS;
  t[ZYDIS_MNEMONIC_AAA] = ascii_adjust<false>;
  t[ZYDIS_MNEMONIC_AAS] = ascii_adjust<true>;
  t[ZYDIS_MNEMONIC_AAM] = AAM;
  t[ZYDIS_MNEMONIC_AAD] = AAD;
}

}  // namespace vessel::engine::emu::interp
