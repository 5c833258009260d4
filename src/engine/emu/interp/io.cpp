// IN/OUT (SDM Vol. 1 ch. 19): answered during the instruction by the IoHandler (the bus).
#include <Zydis/Mnemonic.h>

#include "engine/emu/interp/string_io.hpp"

namespace vessel::engine::emu::interp {

using namespace arch;

void check_io_permission(Cpu& c, uint16_t port, unsigned size) {
  if (!c.protected_mode()) return;
  const unsigned iopl = (c.st.rflags >> 12) & 3;
  if (!(c.st.rflags & rflags::kVM) && c.cpl() <= iopl) return;
  // The I/O permission bitmap of a 32/64-bit TSS (base at offset 0x66).
  const Segment& tr = c.st.seg[kTr];
  if (tr.unusable || (tr.type & 0xd) != 9 || tr.limit < 0x67) raise(vec::kGP, 0);  // 32/64-bit
  const uint64_t map = c.read_sys(tr.base + 0x66, 2);
  const uint64_t byte = map + port / 8;
  if (byte + 1 > tr.limit) raise(vec::kGP, 0);
  const uint64_t bits = c.read_sys(tr.base + byte, 2);
  if ((bits >> (port & 7)) & ((1u << size) - 1)) raise(vec::kGP, 0);
}

uint64_t port_read(Cpu& c, uint16_t port, unsigned size) {
  c.note_port_access(port, size);
  uint8_t buf[4] = {};
  c.io.pio_read(port, std::span<uint8_t>(buf, size));
  return bus::load_le(std::span<const uint8_t>(buf, size));
}

void port_write(Cpu& c, uint16_t port, unsigned size, uint64_t v) {
  c.note_port_access(port, size);
  uint8_t buf[4];
  bus::store_le(std::span<uint8_t>(buf, size), v);
  c.io.pio_write(port, std::span<const uint8_t>(buf, size));
}

namespace {
void IN(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[0].size;
  const uint16_t port = static_cast<uint16_t>(read_op_sized(c, in, 1, 2));
  check_io_permission(c, port, size);
  set_gpr(c, kRax, size, port_read(c, port, size));
}
void OUT(Cpu& c, const DecodedInst& in) {
  const unsigned size = in.ops[1].size;
  const uint16_t port = static_cast<uint16_t>(read_op_sized(c, in, 0, 2));
  check_io_permission(c, port, size);
  port_write(c, port, size, get_gpr(c, kRax, size));
}
}  // namespace

void register_io(HandlerTable& t) {
  t[ZYDIS_MNEMONIC_IN] = IN;
  t[ZYDIS_MNEMONIC_OUT] = OUT;
}

}  // namespace vessel::engine::emu::interp
