#include "engine/emu/jit/emitter.hpp"

#include <cstddef>
#include <cstring>

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using Xbyak::CodeGenerator;

void Emitter::begin(uint64_t block_gpa, x86::CodeMode code_mode, bool user_mode,
                    RegCache reg_cache) {
  // A user buffer (xbyak's USER_BUF): only where it starts and how much is left change.
  top_ = jit.cache.free_ptr();
  maxSize_ = jit.cache.free_bytes();
  if (hasUndefinedLabel()) reset();  // a block cut short by an exception (cache full)
  resetSize();
  gpa = block_gpa;
  mode = code_mode;
  user = user_mode;
  regs = reg_cache;
  pending = index = offset = length = 0;
  wrote_memory = sets_rip = ended = false;
  flags_live = kArithFlags;
  host_flags = unsaved_flags = 0;
  saved_flags = kArithFlags;
  dirty = 0;
  loop_head = loop_insts = 0;
  exits_.clear();
  slow_.clear();
  jumps_.clear();
}

void Emitter::wrap_ip(const Xbyak::Reg64& r) {
  if (mode == x86::CodeMode::k32)
    mov(r.cvt32(), r.cvt32());
  else if (mode == x86::CodeMode::k16)
    movzx(r.cvt32(), r.cvt16());
}

void Emitter::add_rip(int64_t n) {
  if (n == 0) return;
  clobber_flags();
  // Deltas are instruction lengths plus a rel32: they fit an imm32 (checked, not assumed).
  if (n != static_cast<int32_t>(n)) throw Xbyak::Error(Xbyak::ERR_IMM_IS_TOO_BIG);
  if (mode == x86::CodeMode::k64) {
    add(field64(lay.rip), static_cast<int>(n));
    return;
  }
  mov(rcx, field64(lay.rip));
  add(rcx, static_cast<int>(n));
  wrap_ip(rcx);
  mov(field64(lay.rip), rcx);
}

void Emitter::sub_rip(unsigned n) {
  if (n == 0) return;
  clobber_flags();
  if (mode == x86::CodeMode::k64) {
    sub(field64(lay.rip), static_cast<int>(n));
    return;
  }
  mov(rcx, field64(lay.rip));
  sub(rcx, static_cast<int>(n));
  wrap_ip(rcx);
  mov(field64(lay.rip), rcx);
}

Emitter::ExitRef Emitter::find_exit(uint32_t status, unsigned retired, int64_t rip_delta,
                                    ExitKind kind, uint64_t target_gpa) {
  for (uint32_t i = 0; i < exits_.size(); ++i) {
    const Exit& x = exits_[i];
    if (x.status == status && x.retired == retired && x.rip_delta == rip_delta && x.kind == kind &&
        x.target_gpa == target_gpa && x.merge == (saved_flags | unsaved_flags) &&
        x.save == (unsaved_flags != 0) && x.dirty == dirty)
      return ExitRef{i};
  }
  const auto index = static_cast<uint32_t>(exits_.size());
  Exit& x = exits_.emplace_back();
  x.status = status;
  x.retired = retired;
  x.rip_delta = rip_delta;
  x.kind = kind;
  x.target_gpa = target_gpa;
  x.merge = saved_flags | unsaved_flags;
  x.save = unsaved_flags != 0;
  x.dirty = dirty;
  return ExitRef{index};
}

uint32_t Emitter::rel32_jump(int cc) {
  if (cc < 0) {
    db(0xe9);
  } else {
    db(0x0f);
    db(0x80 | cc);
  }
  const auto at = static_cast<uint32_t>(getSize());
  dd(0);
  return at;
}

void Emitter::set_rel32(uint32_t at, uint32_t to) {
  const int32_t rel = static_cast<int32_t>(to) - static_cast<int32_t>(at + 4);
  std::memcpy(top_ + at, &rel, sizeof rel);
}

void Emitter::jump_to(int cc, uint32_t target, bool slow) {
  jumps_.push_back(Jump{rel32_jump(cc), target, slow});
}

void Emitter::resolve_jumps() {
  for (const Jump& j : jumps_) set_rel32(j.at, j.slow ? slow_[j.target].pos : exits_[j.target].pos);
}

Emitter::ExitRef Emitter::exit(uint32_t status, unsigned retired, int64_t rip_delta) {
  return find_exit(status, retired, rip_delta, ExitKind::kPlain, 0);
}

Emitter::ExitRef Emitter::direct_exit(unsigned retired, int64_t rip_delta, int64_t target) {
  const int64_t in_page = static_cast<int64_t>(gpa & 0xfff) + target;
  if (mode != x86::CodeMode::k64) return exit(kRanToEnd, retired, rip_delta);
  // Another page may map anywhere: the lookup checks the RIP → block mapping every time.
  if (in_page < 0 || in_page >= 4096)
    return find_exit(kRanToEnd, retired, rip_delta, ExitKind::kIndirect, 0);
  // Back to the block's start with st.rip already there (no handler call moved it).
  const bool loop = loop_head && target == 0 && rip_delta == 0;
  return find_exit(kRanToEnd, retired, rip_delta, loop ? ExitKind::kLoop : ExitKind::kDirect,
                   (gpa & ~0xfffull) + static_cast<uint64_t>(in_page));
}

Emitter::ExitRef Emitter::indirect_exit(unsigned retired) {
  if (mode != x86::CodeMode::k64) return exit(kRanToEnd, retired, 0);
  return find_exit(kRanToEnd, retired, 0, ExitKind::kIndirect, 0);
}

void Emitter::emit_exits() {
  for (Exit& x : exits_) {
    x.pos = static_cast<uint32_t>(getSize());
    host_flags = saved_flags = unsaved_flags = 0;  // each exit's own, from its key
    if (x.save) {
      pushfq();
      pop(r15);
    }
    if (x.kind == ExitKind::kLoop) emit_loop_pass(x);  // else on into its direct exit
    store_cached(x.dirty);  // before a chained jump too: the successor loads its own
    // r15 leaves with every arithmetic flag: those it lacks come from st.rflags.
    const uint32_t take = kArithFlags & ~x.merge;
    // That and the counts in two registers for a shared tail (SharedStubs::commit_*), where
    // no patchable jump must follow them and st.rip needs no wrap.
    const uint64_t packed = static_cast<uint64_t>(x.rip_delta) << 8 | x.retired;
    static_assert(Cpu::kMaxBlockInsts < 256);
    const bool direct = x.kind == ExitKind::kDirect || x.kind == ExitKind::kLoop;
    if (!direct && mode == x86::CodeMode::k64 && x.rip_delta >= 0 && (packed > 0 || take) &&
        packed <= 0xffffffff) {
      const bool indirect = x.kind == ExitKind::kIndirect;
      if (take) mov(edi, take);
      mov(ecx, static_cast<uint32_t>(packed));
      const SharedStubs& s = jit.stubs;
      if (take)
        jmp(indirect ? s.take_commit_probe[user] : s.take_commit_status[x.status], T_NEAR);
      else
        jmp(indirect ? s.commit_probe[user] : s.commit_status[x.status], T_NEAR);
      continue;
    }
    if (take) emit_take(take);
    add_rip(x.rip_delta);
    sub(rbp, metered(x.retired));
    if (direct)
      emit_direct_stub(x.target_gpa);
    else if (x.kind == ExitKind::kIndirect)
      jmp(jit.stubs.probe[user], T_NEAR);
    else
      jmp(jit.stubs.status[x.status], T_NEAR);
  }
}

// Another pass of the loop, or on to the loop's direct exit: the checks of the chained entry
// (an exit request, a budget short of this pass plus the next) and its count, then r15 takes
// every flag, as at a block entry. Flags are saved by now (emit_exits); the GPRs stay cached.
void Emitter::emit_loop_pass(const Exit& x) {
  cmp(byte[rbx + lay.exit_request], 0);
  const uint32_t refused_at = rel32_jump(kCcNe);
  cmp(rbp, static_cast<int>((x.retired + loop_insts) << RunCounters::kExitBits));
  const uint32_t short_at = rel32_jump(kCcB);
  sub(rbp, metered(x.retired));
  if (const uint32_t take = kArithFlags & ~x.merge) emit_take(take);
  set_rel32(rel32_jump(-1), loop_head);
  const auto here = static_cast<uint32_t>(getSize());
  set_rel32(refused_at, here);
  set_rel32(short_at, here);
}

// The patchable jump, at first to the code right after it, which tells the run loop its slot.
void Emitter::emit_direct_stub(uint64_t target_gpa) {
  ExitSlot& slot = jit.slots.emplace_back();
  slot.jump = const_cast<uint8_t*>(getCurr());
  slot.target_gpa = target_gpa;
  slot.user = user;
  db(0xe9);
  dd(0);
  mov(rax, reinterpret_cast<uint64_t>(&slot));
  jmp(jit.stubs.leave_slot, T_NEAR);
}

void Emitter::load_cached() {
  for (unsigned r = 0; r < 16; ++r)
    if (cached(r)) mov(host_of(r), gpr64(r));
}

void Emitter::store_cached(uint16_t mask) {
  for (unsigned r = 0; r < 16; ++r)
    if (cached(r) && (mask >> r & 1)) mov(gpr64(r), host_of(r));
}

void Emitter::store_gpr(unsigned reg, unsigned size, const Xbyak::Reg64& src) {
  if (cached(reg)) {  // the host register's own partial writes are the guest's
    const Xbyak::Reg64 h = host_of(reg);
    mark_dirty(reg);
    switch (size) {
      case 1:
        mov(h.cvt8(), src.cvt8());
        break;
      case 2:
        mov(h.cvt16(), src.cvt16());
        break;
      case 4:
        mov(h.cvt32(), src.cvt32());
        break;
      default:
        if (src.getIdx() != h.getIdx()) mov(h, src);
        break;
    }
    return;
  }
  const int off = lay.gpr + 8 * static_cast<int>(reg);
  switch (size) {
    case 1:
      mov(byte[rbx + off], src.cvt8());
      break;
    case 2:
      mov(word[rbx + off], src.cvt16());
      break;
    case 4:  // zero-extends; a cached GPR as `src` must stay as it is
      if (is_cache_reg(src)) {
        mov(dword[rbx + off], src.cvt32());
        mov(dword[rbx + off + 4], 0);
      } else {
        mov(src.cvt32(), src.cvt32());
        mov(qword[rbx + off], src);
      }
      break;
    default:
      mov(qword[rbx + off], src);
      break;
  }
}

// Base and index straight from their cached host registers when they are cached.
void Emitter::effective_address(const x86::Operand& op, unsigned addrsize) {
  const int32_t disp = static_cast<int32_t>(op.value);
  if (op.base == x86::kRipReg) {  // 64-bit mode only: next RIP + disp
    mov(r13, field64(lay.rip));
    lea(r13, ptr[r13 + (static_cast<int>(pending + length) + disp)]);  // keeps host flags
  } else if (op.base != x86::kNoReg) {
    const Xbyak::Reg64 base = gpr_source(op.base, r13);
    if (op.index != x86::kNoReg)
      lea(r13, ptr[base + gpr_source(op.index, rcx) * op.scale + disp]);
    else if (disp || base.getIdx() != r13.getIdx())
      lea(r13, ptr[base + disp]);
  } else if (op.index != x86::kNoReg) {
    lea(r13, ptr[gpr_source(op.index, rcx) * op.scale + disp]);
  } else {
    mov(r13, static_cast<uint64_t>(static_cast<int64_t>(disp)));
  }
  if (addrsize == 4)
    mov(r13d, r13d);
  else if (addrsize == 2)
    movzx(r13d, r13w);
}

// 32-bit code: the inline path only for a flat segment (base 0, limit 4 GiB - 1, present,
// usable, an expand-up data segment, writable for a store), where the linear address is the
// offset and no limit check can fail; anything else takes the slow path (Cpu::linear_slow).
void Emitter::flat_check(unsigned seg, bool store, uint32_t slow) {
  using arch::Segment;
  static_assert(offsetof(Segment, type) == offsetof(Segment, limit) + 4 &&
                offsetof(Segment, s) == offsetof(Segment, type) + 1 &&
                offsetof(Segment, dpl) == offsetof(Segment, s) + 1 &&
                offsetof(Segment, present) == offsetof(Segment, dpl) + 1);
  const int at = lay.seg_base[seg] - static_cast<int>(offsetof(Segment, base));
  // The qword limit | type | s | dpl | present, DPL ignored; type: not code, not expand-down
  // (and writable for a store).
  const uint64_t type_mask = store ? 0x0e : 0x0c, type_want = store ? 0x02 : 0x00;
  const uint64_t mask = 0xffffffffull | type_mask << 32 | 0xffull << 40 | 0xffull << 56;
  const uint64_t want = 0xffffffffull | type_want << 32 | 1ull << 40 | 1ull << 56;
  cmp(qword[rbx + at + static_cast<int>(offsetof(Segment, base))], 0);
  jump_to(kCcNe, slow, true);
  cmp(byte[rbx + at + static_cast<int>(offsetof(Segment, unusable))], 0);
  jump_to(kCcNe, slow, true);
  mov(rcx, qword[rbx + at + static_cast<int>(offsetof(Segment, limit))]);
  mov(rdx, mask);
  and_(rcx, rdx);
  mov(rdx, want);
  cmp(rcx, rdx);
  jump_to(kCcNe, slow, true);
}

// Inline TLB hit path (see Cpu::read_la): on a hit the host address is rdi (the entry's
// addend) plus the linear address. The tag is compared with the page of the access's last
// byte, so an access crossing into the next page misses without a check of its own (the slow
// path handles it).
Xbyak::RegExp Emitter::tlb_lookup(unsigned seg, unsigned size, int tag, uint32_t slow) {
  Xbyak::Reg64 la = r13;  // the linear address: the offset but for FS and GS
  if (mode == x86::CodeMode::k64 && (seg == 4 || seg == 5)) {
    mov(rsi, r13);
    add(rsi, field64(lay.seg_base[seg]));
    la = rsi;
  }
  static_assert(sizeof(TlbEntry) == 64 && Cpu::kTlbSize <= (1u << 20));  // index * 64 from 32 bits
  mov(eax, la.cvt32());
  shr(eax, 12 - 6);
  and_(eax, (Cpu::kTlbSize - 1) << 6);
  const int entry = lay.tlb + (user ? int(sizeof(TlbEntry) * Cpu::kTlbSize) : 0);
  if (size > 1)
    lea(rcx, ptr[la + static_cast<int>(size - 1)]);
  else
    mov(rcx, la);
  and_(rcx, -4096);
  cmp(rcx, qword[rbx + rax + entry + static_cast<int>(offsetof(TlbEntry, tag) + 8 * tag)]);
  jump_to(kCcNe, slow, true);
  mov(rdi, qword[rbx + rax + entry + static_cast<int>(offsetof(TlbEntry, addend))]);
  return rdi + la;
}

// A load into rax or a store of r14: the inline TLB hit path (64-bit mode, flat segments in
// 32-bit mode), else the slow path through the soft MMU, which may fault (the instruction is
// then not done). The slow path is out of line, after the block's exits (emit_slow_paths), so
// that hits run straight on.
void Emitter::access_mem(unsigned seg, unsigned size, bool store, int load_to) {
  clobber_flags();  // the lookup compares
  const auto slow = static_cast<uint32_t>(slow_.size());
  const ExitRef fault = exit(kFault, index, 0);  // with the cached GPRs dirty and the flags as here
  // C++ sees st.rflags (r15 keeps its value)
  slow_.push_back(SlowPath{0, 0, seg, size, store, pending, saved_flags, fault, load_to});
  if (mode == x86::CodeMode::k16) {
    jump_to(-1, slow, true);
    slow_[slow].done = static_cast<uint32_t>(getSize());
    return;
  }
  if (mode == x86::CodeMode::k32) flat_check(seg, store, slow);
  const Xbyak::RegExp host = tlb_lookup(seg, size, store ? 1 : 0, slow);
  const Xbyak::Address at = size == 1   ? byte[host]
                            : size == 2 ? word[host]
                            : size == 4 ? dword[host]
                                        : qword[host];
  if (store)
    mov(at, size == 1   ? Xbyak::Reg(r14b)
            : size == 2 ? Xbyak::Reg(r14w)
            : size == 4 ? Xbyak::Reg(r14d)
                        : Xbyak::Reg(r14));
  else if (size <= 2)
    movzx(eax, at);
  else
    mov(size == 4 ? Xbyak::Reg(Xbyak::Reg32(load_to)) : Xbyak::Reg(Xbyak::Reg64(load_to)), at);
  slow_[slow].done = static_cast<uint32_t>(getSize());
}

void Emitter::emit_slow_paths() {
  for (SlowPath& p : slow_) {
    p.pos = static_cast<uint32_t>(getSize());
    if (p.merge) emit_merge(p.merge);
    // The stub moves st.rip (no wrap) in 64-bit code; elsewhere the block does.
    const bool k64 = mode == x86::CodeMode::k64;
    if (!k64) add_rip(p.pending);
    const unsigned pending = k64 ? p.pending : 0;
    if (pending > 0xffff) throw Xbyak::Error(Xbyak::ERR_IMM_IS_TOO_BIG);  // never in a page
    mov(esi, p.seg | p.size << 8 | pending << 16);
    call(p.store ? jit.stubs.slow_write : jit.stubs.slow_read);
    jcc_exit(kCcNe, p.fault);
    if (p.load_to != Xbyak::Operand::RAX)  // after the stub has put r8-r11 back
      p.size == 4 ? mov(Xbyak::Reg32(p.load_to), eax) : mov(Xbyak::Reg64(p.load_to), rax);
    if (!k64) sub_rip(p.pending);
    set_rel32(rel32_jump(-1), p.done);  // jmp back, right after the access
  }
}

void Emitter::load_mem(unsigned seg, unsigned size) {
  access_mem(seg, size, false);
}

void Emitter::load_mem_to(unsigned seg, unsigned size, const Xbyak::Reg64& dst) {
  if (size != 4 && size != 8) throw Xbyak::Error(Xbyak::ERR_BAD_SIZE_OF_REGISTER);
  access_mem(seg, size, false, dst.getIdx());
}

void Emitter::store_mem(unsigned seg, unsigned size) {
  wrote_memory = true;
  access_mem(seg, size, true);
}

}  // namespace vessel::engine::emu::jit
