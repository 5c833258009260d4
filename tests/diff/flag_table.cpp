#include "flag_table.hpp"

namespace vessel::difftest {

using namespace flag;

uint64_t condition_reads(unsigned cc) {
  static constexpr uint64_t kReads[8] = {kOF, kCF, kZF,       kCF | kZF,
                                         kSF, kPF, kSF | kOF, kZF | kSF | kOF};
  return kReads[(cc >> 1) & 7];
}

namespace {

// Shifts and rotates (SDM Vol. 2B "SAL/SAR/SHL/SHR", "RCL/RCR/ROL/ROR"): the count is masked
// to 5 bits (6 with REX.W); a masked count of 0 leaves every flag alone; OF is defined only
// for a count of 1; shifts leave AF undefined, and CF undefined once the count reaches the
// operand width (possible for 8- and 16-bit operands only).
FlagEffect shift_effect(ZydisMnemonic m, unsigned bits, std::optional<unsigned> count) {
  const bool rotate = m == ZYDIS_MNEMONIC_ROL || m == ZYDIS_MNEMONIC_ROR ||
                      m == ZYDIS_MNEMONIC_RCL || m == ZYDIS_MNEMONIC_RCR;
  const bool through_carry = m == ZYDIS_MNEMONIC_RCL || m == ZYDIS_MNEMONIC_RCR;
  const uint64_t written = rotate ? (kCF | kOF) : kAll;
  FlagEffect e;
  e.reads = through_carry ? kCF : 0;
  if (!count) {  // unknown count: anything written may be unchanged or undefined
    e.undefined =
        kOF | (rotate ? 0 : kAF) | (!rotate && m != ZYDIS_MNEMONIC_SAR && bits < 32 ? kCF : 0);
    return e;
  }
  const unsigned masked = *count & (bits == 64 ? 63 : 31);
  if (masked == 0) return FlagEffect{e.reads, 0, 0};
  e.defined = written;
  if (masked != 1) e.undefined |= kOF;
  if (!rotate) e.undefined |= kAF;
  if (m != ZYDIS_MNEMONIC_SAR && !rotate && masked >= bits) e.undefined |= kCF | kOF;
  e.defined &= ~e.undefined;
  return e;
}

// SHLD/SHRD (SDM Vol. 2B): like shifts; a count above the operand size (16-bit only) leaves
// the result and every flag undefined, so the generator uses 32/64-bit forms.
FlagEffect double_shift_effect(unsigned bits, std::optional<unsigned> count) {
  if (!count) return FlagEffect{0, 0, kOF | kAF};
  const unsigned masked = *count & (bits == 64 ? 63 : 31);
  if (masked == 0) return {};
  FlagEffect e{0, kAll, kAF | (masked != 1 ? kOF : 0)};
  e.defined &= ~e.undefined;
  return e;
}

}  // namespace

FlagEffect flag_effect(ZydisMnemonic m, unsigned bits, std::optional<unsigned> count) {
  switch (m) {
    case ZYDIS_MNEMONIC_ADD:
    case ZYDIS_MNEMONIC_SUB:
    case ZYDIS_MNEMONIC_CMP:
    case ZYDIS_MNEMONIC_NEG:
    case ZYDIS_MNEMONIC_XADD:
    case ZYDIS_MNEMONIC_CMPXCHG:
    case ZYDIS_MNEMONIC_CMPSB:
    case ZYDIS_MNEMONIC_SCASB:
      return {0, kAll, 0};
    case ZYDIS_MNEMONIC_ADC:
    case ZYDIS_MNEMONIC_SBB:
      return {kCF, kAll, 0};
    case ZYDIS_MNEMONIC_AND:
    case ZYDIS_MNEMONIC_OR:
    case ZYDIS_MNEMONIC_XOR:
    case ZYDIS_MNEMONIC_TEST:
      return {0, kAll & ~kAF, kAF};
    case ZYDIS_MNEMONIC_INC:
    case ZYDIS_MNEMONIC_DEC:
      return {0, kAll & ~kCF, 0};
    case ZYDIS_MNEMONIC_ROL:
    case ZYDIS_MNEMONIC_ROR:
    case ZYDIS_MNEMONIC_RCL:
    case ZYDIS_MNEMONIC_RCR:
    case ZYDIS_MNEMONIC_SHL:
    case ZYDIS_MNEMONIC_SHR:
    case ZYDIS_MNEMONIC_SAR:
      return shift_effect(m, bits, count);
    case ZYDIS_MNEMONIC_SHLD:
    case ZYDIS_MNEMONIC_SHRD:
      return double_shift_effect(bits, count);
    case ZYDIS_MNEMONIC_MUL:
    case ZYDIS_MNEMONIC_IMUL:
      return {0, kCF | kOF, kSF | kZF | kAF | kPF};
    case ZYDIS_MNEMONIC_DIV:
    case ZYDIS_MNEMONIC_IDIV:
      return {0, 0, kAll};
    case ZYDIS_MNEMONIC_BT:
    case ZYDIS_MNEMONIC_BTS:
    case ZYDIS_MNEMONIC_BTR:
    case ZYDIS_MNEMONIC_BTC:
      return {0, kCF, kOF | kSF | kAF | kPF};
    case ZYDIS_MNEMONIC_BSF:
    case ZYDIS_MNEMONIC_BSR:
      return {0, kZF, kCF | kOF | kSF | kAF | kPF};
    case ZYDIS_MNEMONIC_POPCNT:
      return {0, kAll, 0};
    case ZYDIS_MNEMONIC_LZCNT:
      return {0, kCF | kZF, kOF | kSF | kAF | kPF};
    case ZYDIS_MNEMONIC_CMPXCHG8B:
    case ZYDIS_MNEMONIC_CMPXCHG16B:
      return {0, kZF, 0};
    case ZYDIS_MNEMONIC_CLC:
    case ZYDIS_MNEMONIC_STC:
      return {0, kCF, 0};
    case ZYDIS_MNEMONIC_CMC:
      return {kCF, kCF, 0};
    case ZYDIS_MNEMONIC_LAHF:
      return {kSF | kZF | kAF | kPF | kCF, 0, 0};
    case ZYDIS_MNEMONIC_SAHF:
      return {0, kSF | kZF | kAF | kPF | kCF, 0};
    case ZYDIS_MNEMONIC_PUSHFQ:
      return {kAll, 0, 0};
    default:  // MOV*, LEA, XCHG, NOT, BSWAP, CMOVcc/SETcc (reads handled by the caller), ...
      return {};
  }
}

}  // namespace vessel::difftest
