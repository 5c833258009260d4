// Port I/O helpers shared by IN/OUT (io.cpp) and INS/OUTS (string.cpp).
#pragma once

#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu::interp {

// I/O permission (SDM Vol. 1 §19.5): CPL <= IOPL, else the TSS I/O bitmap; #GP(0) if denied.
void check_io_permission(Cpu& c, uint16_t port, unsigned size);
uint64_t port_read(Cpu& c, uint16_t port, unsigned size);
void port_write(Cpu& c, uint16_t port, unsigned size, uint64_t v);

}  // namespace vessel::engine::emu::interp
