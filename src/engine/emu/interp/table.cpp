// The dispatch table: one handler per DecodedInst::op (the Zydis mnemonic), filled by one
// register_* function per SDM-chapter file. An op without a handler raises #UD, which is what
// a CPU that does not advertise the instruction does. New files (x87, sse, ...) add a
// register_* call here; mnemonics shared between chapters (MOVSD, CMPSD: string vs SSE) are
// told apart by DecodedInst::opcode_map inside the handler.
#include "engine/emu/interp/mmx.hpp"
#include "engine/emu/interp/operands.hpp"

namespace vessel::engine::emu {

namespace {
void undefined(Cpu&, const x86::DecodedInst&) {
  raise(vec::kUD);
}

HandlerTable build() {
  HandlerTable t;
  t.fill(undefined);
  interp::register_alu(t);
  interp::register_muldiv(t);
  interp::register_exchange(t);
  interp::register_shift(t);
  interp::register_bit(t);
  interp::register_string(t);
  interp::register_control(t);
  interp::register_stack(t);
  interp::register_io(t);
  interp::register_segment_checks(t);
  interp::register_system(t);    // after alu: the full MOV (CR/DR/Sreg forms)
  interp::register_sse_move(t);  // after string: MOVSD/CMPSD fall back to the string forms
  interp::register_sse_float(t);
  interp::register_sse_int(t);
  interp::register_x87(t);
  interp::register_fxsave(t);
  interp::register_mmx(t);
  interp::register_decimal(t);
  interp::register_legacy(t);
  return t;
}
}  // namespace

const HandlerTable& handler_table() {
  static const HandlerTable table = build();
  return table;
}

}  // namespace vessel::engine::emu
