#include "engine/emu/jit/emitter.hpp"

#include <cstddef>

namespace vessel::engine::emu::jit {

using namespace Xbyak::util;
using Xbyak::CodeGenerator;

void Emitter::wrap_ip(const Xbyak::Reg64& r) {
  if (mode == x86::CodeMode::k32)
    mov(r.cvt32(), r.cvt32());
  else if (mode == x86::CodeMode::k16)
    movzx(r.cvt32(), r.cvt16());
}

void Emitter::add_rip(unsigned n) {
  if (n == 0) return;
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
  if (mode == x86::CodeMode::k64) {
    sub(field64(lay.rip), static_cast<int>(n));
    return;
  }
  mov(rcx, field64(lay.rip));
  sub(rcx, static_cast<int>(n));
  wrap_ip(rcx);
  mov(field64(lay.rip), rcx);
}

Xbyak::Label& Emitter::exit(uint32_t status, unsigned retired, unsigned rip_bytes) {
  for (Exit& x : exits_)
    if (x.status == status && x.retired == retired && x.rip_bytes == rip_bytes) return x.label;
  exits_.emplace_back();
  Exit& x = exits_.back();
  x.status = status;
  x.retired = retired;
  x.rip_bytes = rip_bytes;
  return x.label;
}

void Emitter::emit_exits(Xbyak::Label& epilogue) {
  for (Exit& x : exits_) {
    L(x.label);
    add_rip(x.rip_bytes);
    if (x.retired) {
      add(field64(lay.retired), static_cast<int>(x.retired));
      sub(qword[rbp], static_cast<int>(x.retired));
    }
    mov(eax, x.status);
    jmp(epilogue, T_NEAR);
  }
}

void Emitter::store_gpr(unsigned reg, unsigned size, const Xbyak::Reg64& src) {
  const int off = lay.gpr + 8 * static_cast<int>(reg);
  switch (size) {
    case 1:
      mov(byte[rbx + off], src.cvt8());
      break;
    case 2:
      mov(word[rbx + off], src.cvt16());
      break;
    case 4:
      mov(src.cvt32(), src.cvt32());
      mov(qword[rbx + off], src);
      break;
    default:
      mov(qword[rbx + off], src);
      break;
  }
}

void Emitter::effective_address(const x86::Operand& op, unsigned addrsize) {
  const int32_t disp = static_cast<int32_t>(op.value);
  if (op.base == x86::kRipReg) {  // 64-bit mode only: next RIP + disp
    mov(r13, field64(lay.rip));
    add(r13, static_cast<int>(pending + length) + disp);
  } else if (op.base != x86::kNoReg) {
    mov(r13, gpr64(op.base));
    if (op.index != x86::kNoReg) {
      mov(rcx, gpr64(op.index));
      lea(r13, ptr[r13 + rcx * op.scale + disp]);
    } else if (disp) {
      lea(r13, ptr[r13 + disp]);
    }
  } else if (op.index != x86::kNoReg) {
    mov(rcx, gpr64(op.index));
    lea(r13, ptr[rcx * op.scale + disp]);
  } else {
    mov(r13, static_cast<uint64_t>(static_cast<int64_t>(disp)));
  }
  if (addrsize == 4)
    mov(r13d, r13d);
  else if (addrsize == 2)
    movzx(r13d, r13w);
}

// Inline TLB hit path (64-bit mode; see Cpu::read_la): rdi = host address on a hit.
void Emitter::tlb_lookup(unsigned seg, unsigned size, int tag, Xbyak::Label& miss) {
  mov(rsi, r13);
  if (seg == 4 || seg == 5) add(rsi, field64(lay.seg_base[seg]));  // FS, GS
  mov(rax, rsi);
  shr(rax, 12);
  and_(eax, Cpu::kTlbSize - 1);
  imul(eax, eax, static_cast<int>(sizeof(TlbEntry)));
  lea(rdi, ptr[rbx + rax + lay.tlb + (user ? int(sizeof(TlbEntry) * Cpu::kTlbSize) : 0)]);
  mov(rcx, rsi);
  and_(rcx, -4096);
  cmp(rcx, qword[rdi + static_cast<int>(offsetof(TlbEntry, tag) + 8 * tag)]);
  jne(miss, T_NEAR);
  mov(ecx, esi);
  and_(ecx, 0xfff);
  cmp(ecx, static_cast<int>(4096 - size));
  ja(miss, T_NEAR);
  mov(rdi, qword[rdi + static_cast<int>(offsetof(TlbEntry, host))]);
  add(rdi, rcx);
}

void Emitter::load_mem(unsigned seg, unsigned size) {
  Xbyak::Label miss, done;
  if (mode == x86::CodeMode::k64) {
    tlb_lookup(seg, size, 0, miss);
    switch (size) {
      case 1:
        movzx(eax, byte[rdi]);
        break;
      case 2:
        movzx(eax, word[rdi]);
        break;
      case 4:
        mov(eax, dword[rdi]);
        break;
      default:
        mov(rax, qword[rdi]);
        break;
    }
    jmp(done, T_NEAR);
  }
  L(miss);
  add_rip(pending);
  mov(rdi, rbx);
  mov(esi, seg);
  mov(rdx, r13);
  mov(ecx, size);
  mov(r8, rsp);
  mov(rax, reinterpret_cast<uint64_t>(&slow_read));
  call(rax);
  test(eax, eax);
  jnz(exit(kFault, index, 0), T_NEAR);
  sub_rip(pending);
  mov(rax, qword[rsp]);
  L(done);
}

void Emitter::store_mem(unsigned seg, unsigned size) {
  Xbyak::Label miss, done;
  wrote_memory = true;
  if (mode == x86::CodeMode::k64) {
    tlb_lookup(seg, size, 1, miss);
    switch (size) {
      case 1:
        mov(byte[rdi], r14b);
        break;
      case 2:
        mov(word[rdi], r14w);
        break;
      case 4:
        mov(dword[rdi], r14d);
        break;
      default:
        mov(qword[rdi], r14);
        break;
    }
    jmp(done, T_NEAR);
  }
  L(miss);
  add_rip(pending);
  mov(rdi, rbx);
  mov(esi, seg);
  mov(rdx, r13);
  mov(ecx, size);
  mov(r8, r14);
  mov(rax, reinterpret_cast<uint64_t>(&slow_write));
  call(rax);
  test(eax, eax);
  jnz(exit(kFault, index, 0), T_NEAR);
  sub_rip(pending);
  L(done);
}

void Emitter::guest_flags_to_host() {
  mov(r8, field64(lay.rflags));
  and_(r8d, kArithFlags);
  push(r8);
  popfq();
}

void Emitter::merge_flags(uint32_t mask) {
  and_(r15d, mask);
  mov(rcx, field64(lay.rflags));
  and_(rcx, ~static_cast<int>(mask));
  or_(rcx, r15);
  mov(field64(lay.rflags), rcx);
}

}  // namespace vessel::engine::emu::jit
