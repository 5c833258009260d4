// Operand access for interpreter handlers: registers with their partial-write rules, effective
// addresses, memory through the soft MMU, condition codes, and the locked read-modify-write.
#pragma once

#include <cstdint>

#include "engine/emu/cpu.hpp"
#include "engine/emu/interp/alu_ops.hpp"

namespace vessel::engine::emu::interp {

using x86::DecodedInst;
using x86::Operand;
using x86::OpKind;

void register_alu(HandlerTable& t);
void register_muldiv(HandlerTable& t);
void register_exchange(HandlerTable& t);
void register_shift(HandlerTable& t);
void register_bit(HandlerTable& t);
void register_string(HandlerTable& t);
void register_control(HandlerTable& t);
void register_stack(HandlerTable& t);
void register_system(HandlerTable& t);
void register_io(HandlerTable& t);
void register_segment_checks(HandlerTable& t);
void register_decimal(HandlerTable& t);
void register_legacy(HandlerTable& t);

inline constexpr uint64_t size_mask(unsigned size) {
  return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}
inline constexpr uint64_t sign_bit(unsigned size) {
  return 1ull << (8 * size - 1);
}
// Calls f(T{}) with T the unsigned type of `size` bytes (1, 2, 4, 8; with kByte = false, 2,
// 4 or 8 for operations without a byte form): one switch for every handler that runs a
// width-templated operation on a run-time operand size.
template <bool kByte = true, class F>
inline decltype(auto) with_width(unsigned size, F&& f) {
  if constexpr (kByte) {
    if (size == 1) return f(uint8_t{});
  }
  switch (size) {
    case 2:
      return f(uint16_t{});
    case 4:
      return f(uint32_t{});
    default:
      return f(uint64_t{});
  }
}
inline int64_t sign_extend(uint64_t v, unsigned size) {
  const unsigned shift = 64 - 8 * size;
  return static_cast<int64_t>(v << shift) >> shift;
}

inline uint64_t get_gpr(const Cpu& c, uint8_t reg, unsigned size) {
  if (reg >= 16) return (c.st.gpr[reg - 16] >> 8) & 0xff;
  return c.st.gpr[reg] & size_mask(size);
}
// Partial writes (SDM Vol. 1 §3.4.1.1): 8/16-bit writes merge, 32-bit writes zero-extend.
inline void set_gpr(Cpu& c, uint8_t reg, unsigned size, uint64_t v) {
  if (reg >= 16) {
    uint64_t& r = c.st.gpr[reg - 16];
    r = (r & ~0xff00ull) | ((v & 0xff) << 8);
    return;
  }
  uint64_t& r = c.st.gpr[reg];
  switch (size) {
    case 1:
      r = (r & ~0xffull) | (v & 0xff);
      break;
    case 2:
      r = (r & ~0xffffull) | (v & 0xffff);
      break;
    case 4:
      r = v & 0xffffffffull;
      break;
    default:
      r = v;
      break;
  }
}

inline uint64_t effective_address(const Cpu& c, const DecodedInst& in, const Operand& op) {
  uint64_t a = static_cast<uint64_t>(op.value);
  if (op.base != x86::kNoReg) a += op.base == x86::kRipReg ? c.next_rip : c.st.gpr[op.base];
  if (op.index != x86::kNoReg) a += c.st.gpr[op.index] * op.scale;
  return a & size_mask(in.addrsize);
}

inline uint64_t read_op(Cpu& c, const DecodedInst& in, int i) {
  const Operand& op = in.ops[i];
  switch (op.kind) {
    case OpKind::kGpr:
      return get_gpr(c, op.reg, op.size);
    case OpKind::kMem:
      return c.read(op.seg, effective_address(c, in, op), op.size);
    case OpKind::kImm:
      return static_cast<uint64_t>(op.value) & size_mask(op.size ? op.size : 8);
    case OpKind::kSeg:
      return c.st.seg[op.reg].selector;
    default:
      raise(vec::kUD);
  }
}
// Reads operand i at an explicit size (the source of MOVZX, sign-extended immediates, ...).
inline uint64_t read_op_sized(Cpu& c, const DecodedInst& in, int i, unsigned size) {
  const Operand& op = in.ops[i];
  if (op.kind == OpKind::kImm) return static_cast<uint64_t>(op.value) & size_mask(size);
  return read_op(c, in, i) & size_mask(size);
}

inline void write_op(Cpu& c, const DecodedInst& in, int i, uint64_t v) {
  const Operand& op = in.ops[i];
  switch (op.kind) {
    case OpKind::kGpr:
      return set_gpr(c, op.reg, op.size, v);
    case OpKind::kMem:
      return c.write(op.seg, effective_address(c, in, op), op.size, v);
    default:
      raise(vec::kUD);
  }
}

// Arithmetic flags in, arithmetic flags out.
inline uint64_t flags_in(const Cpu& c) {
  return (c.st.rflags & kArithFlags) | 2;
}
inline void flags_out(Cpu& c, uint64_t fl, uint64_t mask = kArithFlags) {
  c.st.rflags = (c.st.rflags & ~mask) | (fl & mask);
}

// Read-modify-write of operand 0: `f(old)` returns the new value and may be called again
// when a LOCKed compare-and-swap on host memory loses a race (so it must be pure). LOCK is
// atomic on guest RAM; on MMIO or across a page it degrades to read-then-write.
template <class F>
inline void rmw(Cpu& c, const DecodedInst& in, F&& f, bool write_back = true) {
  const Operand& op = in.ops[0];
  if (op.kind == OpKind::kGpr) {
    const uint64_t v = f(get_gpr(c, op.reg, op.size));
    if (write_back) set_gpr(c, op.reg, op.size, v);
    return;
  }
  if (op.kind != OpKind::kMem) raise(vec::kUD);
  const unsigned size = op.size;
  const bool user = c.cpl() == 3;
  const uint64_t la = c.linear(op.seg, effective_address(c, in, op), size,
                               write_back ? Access::kWrite : Access::kRead);
  if (write_back && (in.prefixes & x86::prefix::kLock)) {
    if (uint8_t* h = c.host_for_write(la, size, user)) {
      auto cas = [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        T old = __atomic_load_n(p, __ATOMIC_SEQ_CST);
        for (;;) {
          const T nv = static_cast<T>(f(old));
          if (__atomic_compare_exchange_n(p, &old, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            return;
        }
      };
      switch (size) {
        case 1:
          cas(reinterpret_cast<uint8_t*>(h));
          return;
        case 2:
          cas(reinterpret_cast<uint16_t*>(h));
          return;
        case 4:
          cas(reinterpret_cast<uint32_t*>(h));
          return;
        default:
          cas(reinterpret_cast<uint64_t*>(h));
          return;
      }
    }
  }
  const uint64_t old = c.read_la_n(la, size, user);
  const uint64_t nv = f(old);
  if (write_back) c.write_la_n(la, size, nv, user);
}

// Condition codes (SDM Vol. 1 Appendix B): cc is the low nibble of the Jcc/SETcc opcode.
inline bool condition(uint64_t fl, unsigned cc) {
  using namespace arch::rflags;
  bool r;
  switch (cc >> 1) {
    case 0:
      r = fl & kOF;
      break;
    case 1:
      r = fl & kCF;
      break;
    case 2:
      r = fl & kZF;
      break;
    case 3:
      r = fl & (kCF | kZF);
      break;
    case 4:
      r = fl & kSF;
      break;
    case 5:
      r = fl & kPF;
      break;
    case 6:
      r = !(fl & kSF) != !(fl & kOF);
      break;
    default:
      r = (fl & kZF) || (!(fl & kSF) != !(fl & kOF));
      break;
  }
  return (cc & 1) ? !r : r;
}

// RIP-relative branch target from a kRel operand, wrapped to the operand size.
inline uint64_t branch_target(const Cpu& c, const DecodedInst& in, int i) {
  const uint64_t t = c.next_rip + static_cast<uint64_t>(in.ops[i].value);
  return in.opsize == 8 ? t : t & size_mask(in.opsize);
}

}  // namespace vessel::engine::emu::interp
