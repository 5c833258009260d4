// Bulk REP MOVS / REP STOS, the fast path of string.cpp: the iterations that stay within one
// page the TLB already lets us access directly run as one memmove / fill, with exactly the
// result of running them one at a time.
#pragma once

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {

// Each runs at most `max` iterations of the instruction at once, advancing RSI/RDI (not RCX),
// and returns how many it ran. 0 means "run one iteration the ordinary way": a TLB miss, MMIO,
// a page holding code, a segment limit or wrap within the run, operands overlapping closer
// than one element; that iteration faults, invalidates code or fills the TLB as usual.
// Callers use them only when no debug trap is armed (Cpu::debug_active()).
uint64_t movs_bulk(Cpu& c, const DecodedInst& in, int src_seg, unsigned size, uint64_t max);
uint64_t stos_bulk(Cpu& c, const DecodedInst& in, unsigned size, uint64_t value, uint64_t max);

}  // namespace vessel::engine::emu::interp
