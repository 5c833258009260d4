// Exchanges and compare-exchanges (SDM Vol. 1 §7.3.1.2; Vol. 2 XCHG, XADD, CMPXCHG,
// CMPXCHG8B/16B): atomic on guest RAM through the locked read-modify-write (operands.hpp rmw)
// or, for CMPXCHG16B, the host's LOCK CMPXCHG16B.
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {
namespace {

using namespace arch;

void XCHG(Cpu& c, const DecodedInst& in) {
  // With a memory operand XCHG is locked whatever the prefix (SDM Vol. 2B XCHG).
  const int mem = in.ops[0].kind == OpKind::kMem ? 0 : in.ops[1].kind == OpKind::kMem ? 1 : -1;
  const unsigned size = in.ops[0].size;
  if (mem < 0) {
    const uint64_t a = read_op(c, in, 0), b = read_op(c, in, 1);
    write_op(c, in, 0, b);
    write_op(c, in, 1, a);
    return;
  }
  DecodedInst locked = in;
  locked.prefixes |= x86::prefix::kLock;
  if (mem == 1) std::swap(locked.ops[0], locked.ops[1]);
  const uint64_t reg = get_gpr(c, locked.ops[1].reg, size);
  uint64_t old = 0;
  rmw(c, locked, [&](uint64_t o) {
    old = o;
    return reg;
  });
  set_gpr(c, locked.ops[1].reg, size, old);
}

void XADD(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint64_t src = get_gpr(c, in.ops[1].reg, size);
  const uint64_t fin = flags_in(c);
  uint64_t fo = fin, old = 0, sum = 0;
  rmw(c, in, [&](uint64_t o) {
    old = o;
    fo = fin;
    return sum = add_n(o, src, size, fo);
  });
  set_gpr(c, in.ops[1].reg, size, old);
  // SRC <- DEST, then DEST <- SUM (SDM Vol. 2B XADD): `xadd r, r` leaves the sum.
  if (in.ops[0].kind == x86::OpKind::kGpr && in.ops[0].reg == in.ops[1].reg)
    set_gpr(c, in.ops[0].reg, size, sum);
  flags_out(c, fo);
}

void CMPXCHG(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint64_t acc = get_gpr(c, kRax, size), src = get_gpr(c, in.ops[1].reg, size);
  const uint64_t fin = flags_in(c);
  uint64_t fo = fin, old = 0;
  // A register destination is not written on mismatch: a 32-bit one keeps its upper half
  // (observed on Intel hardware through KVM by the differential tests, tests/diff).
  if (in.ops[0].kind == x86::OpKind::kGpr) {
    old = get_gpr(c, in.ops[0].reg, size);
    sub_n(acc, old, size, fo);
    if (old == acc)
      set_gpr(c, in.ops[0].reg, size, src);
    else
      set_gpr(c, kRax, size, old);
    flags_out(c, fo);
    return;
  }
  // A memory destination is always written (with its old value on mismatch), as on hardware.
  rmw(c, in, [&](uint64_t o) {
    old = o;
    fo = fin;
    sub_n(acc, o, size, fo);
    return o == acc ? src : o;
  });
  if (old != acc) set_gpr(c, kRax, size, old);
  flags_out(c, fo);
}

// CMPXCHG8B/16B: m64/m128 against EDX:EAX / RDX:RAX, atomic on guest RAM whether or not the
// guest wrote LOCK (a stronger guarantee than the hardware's, and the one guests rely on).
void CMPXCHG8B(Cpu& c, const DecodedInst& in) {
  DecodedInst q = in;
  q.ops[0].size = 8;
  q.prefixes |= x86::prefix::kLock;
  const uint64_t expect = (get_gpr(c, kRdx, 4) << 32) | get_gpr(c, kRax, 4);
  const uint64_t repl = (get_gpr(c, kRcx, 4) << 32) | get_gpr(c, kRbx, 4);
  uint64_t old = 0;
  rmw(c, q, [&](uint64_t o) {
    old = o;
    return o == expect ? repl : o;
  });
  if (old == expect) {
    c.st.rflags |= rflags::kZF;
  } else {
    c.st.rflags &= ~rflags::kZF;
    set_gpr(c, kRax, 4, old & 0xffffffff);
    set_gpr(c, kRdx, 4, old >> 32);
  }
}

// The host's LOCK CMPXCHG16B on a 16-byte aligned host pointer: true when it matched (and
// stored nlo/nhi); lo/hi come back with the memory's old value either way.
bool host_cas16(uint8_t* p, uint64_t& lo, uint64_t& hi, uint64_t nlo, uint64_t nhi) {
  bool ok;
  asm volatile("lock cmpxchg16b %[m]"
               : [m] "+m"(*reinterpret_cast<uint64_t(*)[2]>(p)), "+a"(lo), "+d"(hi), "=@ccz"(ok)
               : "b"(nlo), "c"(nhi)
               : "memory");
  return ok;
}

// #GP(0) on a linear address not 16-byte aligned (SDM Vol. 2A CMPXCHG8B/CMPXCHG16B). On RAM a
// single host LOCK CMPXCHG16B, so other vCPUs see all or nothing; on MMIO read-compare-write.
void CMPXCHG16B(Cpu& c, const DecodedInst& in) {
  const int seg = in.ops[0].seg;
  const uint64_t off = effective_address(c, in, in.ops[0]);
  const uint64_t la = c.linear(seg, off, 16, Access::kWrite);
  if (la & 15) raise(vec::kGP, 0);
  uint64_t lo = c.st.gpr[kRax], hi = c.st.gpr[kRdx];
  bool equal;
  if (uint8_t* h = c.host_for_write(la, 16, c.cpl() == 3)) {
    equal = host_cas16(h, lo, hi, c.st.gpr[kRbx], c.st.gpr[kRcx]);
  } else {
    c.probe_write(seg, off, 16);
    const uint64_t mlo = c.read(seg, off, 8), mhi = c.read(seg, off + 8, 8);
    equal = mlo == lo && mhi == hi;
    c.write(seg, off, 8, equal ? c.st.gpr[kRbx] : mlo);      // written back either way, as on
    c.write(seg, off + 8, 8, equal ? c.st.gpr[kRcx] : mhi);  // hardware
    lo = mlo;
    hi = mhi;
  }
  if (equal) {
    c.st.rflags |= rflags::kZF;
  } else {
    c.st.rflags &= ~rflags::kZF;
    c.st.gpr[kRax] = lo;
    c.st.gpr[kRdx] = hi;
  }
}

}  // namespace

void register_exchange(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_XCHG] = XCHG;
  t[ZYDIS_MNEMONIC_XADD] = XADD;
  t[ZYDIS_MNEMONIC_CMPXCHG] = CMPXCHG;
  t[ZYDIS_MNEMONIC_CMPXCHG8B] = CMPXCHG8B;
  t[ZYDIS_MNEMONIC_CMPXCHG16B] = CMPXCHG16B;
}

}  // namespace vessel::engine::emu::interp
