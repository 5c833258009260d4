// MMX (SDM Vol. 1 ch. 9): MM0-MM7 alias the low 64 bits of the x87 physical registers R0-R7.
// Every MMX instruction but EMMS puts the x87 unit in MMX state (TOP = 0, all tags valid), and
// a write to MMi sets the register's exponent field (bits 79:64) to all ones (§9.5.1). With
// TOP = 0, ST(i) is Ri, so in our stack-ordered FXSAVE image MMi is fpu.st[i].
//
// Availability (SDM Vol. 3A Table 2-2 and §9.5.2): #UD when CR0.EM, else #NM when CR0.TS,
// else #MF for a pending unmasked x87 exception (FSW.ES) when CR0.NE (with NE = 0 the legacy
// FERR# path is not wired to an IRQ here, and the instruction runs).
#pragma once

#include "engine/emu/interp/sse_common.hpp"

namespace vessel::engine::emu::interp {

void register_mmx(HandlerTable& t);

namespace mmx {

void check(const Cpu& c);
// MMi before the instruction commits (TOP may not be 0 yet: Ri is ST((i - TOP) mod 8)).
uint64_t get(const Cpu& c, uint8_t reg);
// Enters MMX state (TOP = 0, tags valid); then writes MMi when `reg` is not kNoReg.
void commit(Cpu& c, uint8_t reg = x86::kNoReg, uint64_t v = 0);

using Fn = __m128i (*)(__m128i, __m128i);
// The SSE2 integer operation `f` at 64-bit width: dst MM = f(dst, src) with src an MM
// register, m64/m32 or an imm8 shift count (sse_int.cpp's INT2 forwards MMX forms here).
void binary(Cpu& c, const DecodedInst& in, Fn f);
// MOVD/MOVQ forms with an MM register (sse_move.cpp's MOVDQ forwards them here).
void move(Cpu& c, const DecodedInst& in);
// The MMX forms of PMOVMSKB, PEXTRW and PINSRW (SSE), forwarded by sse_move.cpp.
void pmovmskb(Cpu& c, const DecodedInst& in);
void pextrw(Cpu& c, const DecodedInst& in);
void pinsrw(Cpu& c, const DecodedInst& in);
// CVTPI2PS/PD, CVT(T)PS2PI, CVT(T)PD2PI and MASKMOVQ (mmx_convert.cpp), registered by
// register_mmx.
void register_convert(HandlerTable& t);

}  // namespace mmx
}  // namespace vessel::engine::emu::interp
