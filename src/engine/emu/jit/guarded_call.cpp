// The only way translated code enters C++ that may throw: generated frames have no unwind
// information, so an exception must not pass through them. Faults become a status and the
// translated block returns to run_blocks, which delivers them exactly as the interpreter does
// (the handler has not committed, and RIP still points at the instruction).
//
// Why not __register_frame with hand-written CFI for the code cache: it would save a test and
// a branch per call, but a mistake there is a std::terminate in the middle of a guest, and
// the guarded path costs nothing measurable next to the handler it calls.
#include "engine/emu/jit/emitter.hpp"

namespace vessel::engine::emu::jit {

uint32_t guarded_call(Cpu* cpu, const x86::DecodedInst* inst, Handler handler) noexcept {
  try {
    handler(*cpu, *inst);
  } catch (const GuestFault& f) {
    cpu->jit_fault = f;
    return kFault;
  } catch (...) {  // Cpu::fatal's marker and anything unexpected: rethrown by run_blocks
    cpu->jit_exception = std::current_exception();
    return kFault;
  }
  return (cpu->end_block || cpu->st.events.interrupt_shadow) ? kLeft : kRanToEnd;
}

}  // namespace vessel::engine::emu::jit

namespace vessel::engine::emu::jit {

uint32_t slow_read(Cpu* cpu, uint64_t seg, uint64_t offset, uint64_t size, uint64_t* out) noexcept {
  try {
    *out = cpu->read(static_cast<int>(seg), offset, static_cast<unsigned>(size));
  } catch (const GuestFault& f) {
    cpu->jit_fault = f;
    return kFault;
  } catch (...) {
    cpu->jit_exception = std::current_exception();
    return kFault;
  }
  return 0;
}

uint32_t slow_write(Cpu* cpu, uint64_t seg, uint64_t offset, uint64_t size, uint64_t v) noexcept {
  try {
    cpu->write(static_cast<int>(seg), offset, static_cast<unsigned>(size), v);
  } catch (const GuestFault& f) {
    cpu->jit_fault = f;
    return kFault;
  } catch (...) {
    cpu->jit_exception = std::current_exception();
    return kFault;
  }
  return 0;
}

}  // namespace vessel::engine::emu::jit
