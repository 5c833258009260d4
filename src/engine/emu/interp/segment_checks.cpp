// Segment checks that never fault on a bad selector but report through ZF (SDM Vol. 2A/2B:
// LAR, LSL, VERR, VERW). Linux runs VERW on every return to user mode as its MDS mitigation
// (CPU buffer clearing), so VERW must exist even though its answer rarely matters.
#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu {
namespace {

using namespace arch;
using interp::read_op_sized;
using interp::set_gpr;
using x86::DecodedInst;

// The descriptor for `selector`, or nullopt when it is null or beyond its table's limit.
std::optional<uint64_t> peek_descriptor(Cpu& c, uint16_t selector) {
  if ((selector & 0xfffc) == 0) return std::nullopt;
  const bool ldt = selector & 4;
  if (ldt && c.st.seg[kLdtr].unusable) return std::nullopt;
  const uint64_t base = ldt ? c.st.seg[kLdtr].base : c.st.gdt.base;
  const uint32_t limit = ldt ? c.st.seg[kLdtr].limit : c.st.gdt.limit;
  if ((selector | 7u) > limit) return std::nullopt;
  return c.read_sys(base + (selector & ~7u), 8);
}

struct DescriptorFields {
  uint8_t type;
  bool code_or_data;
  uint8_t dpl;
  bool conforming_code() const { return code_or_data && (type & 0xc) == 0xc; }
  bool code() const { return code_or_data && (type & 0x8); }
};

DescriptorFields fields(uint64_t d) {
  return {static_cast<uint8_t>((d >> 40) & 0xf), ((d >> 44) & 1) != 0,
          static_cast<uint8_t>((d >> 45) & 3)};
}

// DPL >= CPL and DPL >= RPL, except for conforming code segments.
bool privilege_allows(const Cpu& c, const DescriptorFields& f, uint16_t selector) {
  if (f.conforming_code()) return true;
  return f.dpl >= c.cpl() && f.dpl >= (selector & 3);
}

void set_zf(Cpu& c, bool on) {
  if (on)
    c.st.rflags |= rflags::kZF;
  else
    c.st.rflags &= ~rflags::kZF;
}

uint16_t selector_operand(Cpu& c, const DecodedInst& in, int i) {
  if (!c.protected_mode() || (c.st.rflags & rflags::kVM)) raise(vec::kUD);
  return static_cast<uint16_t>(read_op_sized(c, in, i, 2));
}

void verify(Cpu& c, const DecodedInst& in, bool for_write) {
  const uint16_t sel = selector_operand(c, in, 0);
  const auto d = peek_descriptor(c, sel);
  if (!d) return set_zf(c, false);
  const DescriptorFields f = fields(*d);
  bool ok = f.code_or_data && privilege_allows(c, f, sel);
  if (for_write)
    ok = ok && !f.code() && (f.type & 2);  // writable data
  else
    ok = ok && (!f.code() || (f.type & 2));  // data, or readable code
  set_zf(c, ok);
}

void VERR(Cpu& c, const DecodedInst& in) {
  verify(c, in, false);
}
void VERW(Cpu& c, const DecodedInst& in) {
  verify(c, in, true);
}

// System descriptor types LAR/LSL accept (Vol. 2A Table 3-54 for LAR, LSL's list in Vol. 2B).
bool system_type_ok(const Cpu& c, uint8_t type, bool for_lar) {
  if (c.long_mode()) return type == 0x2 || type == 0x9 || type == 0xb || (for_lar && type == 0xc);
  switch (type) {
    case 0x1:
    case 0x2:
    case 0x3:
    case 0x9:
    case 0xb:
      return true;
    case 0x4:
    case 0x5:
    case 0xc:
      return for_lar;  // gates have no limit
    default:
      return false;
  }
}

void load_checked(Cpu& c, const DecodedInst& in, bool for_lar) {
  const uint16_t sel = selector_operand(c, in, 1);
  const auto d = peek_descriptor(c, sel);
  if (!d) return set_zf(c, false);
  const DescriptorFields f = fields(*d);
  const bool type_ok = f.code_or_data || system_type_ok(c, f.type, for_lar);
  if (!type_ok || !privilege_allows(c, f, sel)) return set_zf(c, false);
  uint64_t value;
  if (for_lar) {
    value = (*d >> 32) & 0x00f0ff00;
  } else {
    const uint32_t raw = static_cast<uint32_t>((*d & 0xffff) | ((*d >> 32) & 0xf0000));
    value = ((*d >> 55) & 1) ? (uint64_t{raw} << 12) | 0xfff : raw;
  }
  set_gpr(c, in.ops[0].reg, in.ops[0].size, value);
  set_zf(c, true);
}

void LAR(Cpu& c, const DecodedInst& in) {
  load_checked(c, in, true);
}
void LSL(Cpu& c, const DecodedInst& in) {
  load_checked(c, in, false);
}

}  // namespace

namespace interp {
void register_segment_checks(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_VERR] = VERR;
  t[ZYDIS_MNEMONIC_VERW] = VERW;
  t[ZYDIS_MNEMONIC_LAR] = LAR;
  t[ZYDIS_MNEMONIC_LSL] = LSL;
}
}  // namespace interp

}  // namespace vessel::engine::emu
