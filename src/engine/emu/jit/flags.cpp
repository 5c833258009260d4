// Guest arithmetic flags in translated code: where they live between a producer and its
// consumers (host EFLAGS, r15, st.rflags; see emitter.hpp), and the code that moves them.
#include "engine/emu/jit/emitter.hpp"

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;

namespace {

// The guest flags each condition (Jcc's low nibble / 2) reads: O, B, Z, BE, S, P, L, LE.
constexpr uint32_t kCondFlags[8] = {0x800, 0x001, 0x040, 0x041, 0x080, 0x004, 0x880, 0x8c0};

}  // namespace

// st.rflags ^= (st.rflags ^ r15) & mask: the masked bits from r15, the others kept (one
// register and 23 bytes: merges are in most exits and slow paths).
void Emitter::emit_merge(uint32_t mask) {
  mov(rdi, field64(lay.rflags));
  xor_(rdi, r15);
  and_(edi, mask);  // zero-extends
  xor_(field64(lay.rflags), rdi);
}

// r15 ^= (r15 ^ st.rflags) & mask: the masked bits from st.rflags (an exit's r15 carries
// every arithmetic flag to the next block).
void Emitter::emit_take(uint32_t mask) {
  if (mask == kArithFlags) {
    mov(r15, field64(lay.rflags));
    return;
  }
  mov(rdi, field64(lay.rflags));
  xor_(rdi, r15);
  and_(edi, mask);  // zero-extends
  xor_(r15, rdi);
}

void Emitter::clobber_flags() {
  if (unsaved_flags) {
    pushfq();
    pop(r15);
    saved_flags |= unsaved_flags;
    unsaved_flags = 0;
  }
  host_flags = 0;
}

void Emitter::materialize() {
  clobber_flags();
  if (saved_flags) emit_merge(saved_flags);
  saved_flags = 0;
  host_flags = 0;
}

// The flags not written stay right in r15 only if the host still holds them when it is next
// overwritten (a save of this instruction's flags, now or deferred).
void Emitter::prepare_flags(uint32_t writes, uint32_t keep, bool loads_mem, bool stores_mem,
                            bool kept_cf) {
  const uint32_t pending = saved_flags | unsaved_flags;
  if (!pending) return;
  const uint32_t host_at_op = loads_mem ? 0 : host_flags;
  const uint32_t lost = pending & ~writes & ~host_at_op & ~(kept_cf ? 1u : 0u);
  if (stores_mem || (keep && lost)) materialize();
}

// A CF pending when the host lost it is in r15 by now (a clobber saved it); the operation
// writes every other flag, so bt's undefined ones do not matter.
void Emitter::keep_carry(uint32_t keep) {
  if (!keep || (host_flags & 1) || !(saved_flags & 1)) return;
  bt(r15d, 0);
  host_flags |= 1;
}

void Emitter::flags_written(uint32_t writes, uint32_t keep, bool defer) {
  host_flags |= writes;
  if (defer) {
    saved_flags &= ~writes;
    unsaved_flags = (unsaved_flags & ~writes) | keep;
  } else if (keep) {
    pushfq();
    pop(r15);
  }
}

// Without popfq (tens of cycles, far more in some VMs): OF first, from an add that overflows
// iff it was set (OF, bit 11, shifted to the sign of al, plus 0x80), then sahf loads SF ZF AF
// PF CF from the low byte of st.rflags, which has lahf/sahf's layout. Rare: MUL with live
// undefined flags whose inputs are not in the host flags.
void Emitter::guest_flags_to_host() {
  if ((host_flags & kArithFlags) == kArithFlags) return;
  materialize();
  movzx(eax, byte[rbx + lay.rflags + 1]);
  shl(eax, 4);
  add(al, 0x80);
  mov(ah, byte[rbx + lay.rflags]);
  sahf();
  host_flags = kArithFlags;
}

void Emitter::carry_to_host() {
  if (host_flags & 1) return;
  clobber_flags();  // bt leaves OF/SF/AF/PF undefined
  if (saved_flags & 1)
    bt(r15d, 0);
  else
    bt(field64(lay.rflags), 0);
}

// Without the host flags: the flags a condition reads are bits of r15 or st.rflags; a test of
// them gives ZF = !condition (O, B, Z, BE, S, P), and L/LE need SF ^ OF first (OF is bit 11,
// SF bit 7).
unsigned Emitter::condition(unsigned cc) {
  cc &= 15;
  const uint32_t need = kCondFlags[cc >> 1];
  if ((need & ~host_flags) == 0) return cc;
  clobber_flags();
  if ((need & saved_flags) && (need & ~saved_flags)) materialize();
  const bool in_r15 = (need & ~saved_flags) == 0;
  if ((cc >> 1) < 6) {
    if (in_r15)
      test(r15d, need);
    else
      test(dword[rbx + lay.rflags], need);
  } else {
    if (in_r15)
      mov(esi, r15d);
    else
      mov(esi, dword[rbx + lay.rflags]);
    mov(edi, esi);
    shr(edi, 4);
    and_(edi, 0x80);
    xor_(esi, edi);  // bit 7 = SF ^ OF, bit 6 = ZF
    test(esi, (cc >> 1) == 6 ? 0x80 : 0xc0);
  }
  host_flags = 0;
  return (cc & 1) ? 4 : 5;  // negated conditions: z, else nz
}

}  // namespace vessel::engine::emu::jit
