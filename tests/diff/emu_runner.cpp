// The software engine as a runner: a fresh emu::Cpu per case (its block cache is keyed by
// guest-physical address and would not see the host rewriting the code page), one guest memory.
#include <optional>

#include "engine/emu/cpu.hpp"
#include "guest_layout.hpp"
#include "runners.hpp"

namespace vessel::difftest {
namespace {

using engine::emu::Cpu;
using engine::emu::StopReason;

// Records the first reporting port and stops the CPU at the next block boundary (the
// terminator and the stubs follow their OUT with `jmp $`, which ends the block).
class StopOnPort final : public bus::IoHandler {
 public:
  Cpu* cpu = nullptr;
  std::optional<uint8_t> port;
  void pio_read(uint16_t, std::span<uint8_t> d) override {
    for (auto& b : d) b = 0xff;
  }
  void pio_write(uint16_t p, std::span<const uint8_t>) override {
    if (!port) port = static_cast<uint8_t>(p);
    if (cpu) cpu->request_stop();
  }
  void mmio_read(uint64_t, std::span<uint8_t> d) override {
    for (auto& b : d) b = 0xff;
  }
  void mmio_write(uint64_t, std::span<const uint8_t>) override {}
};

class EmuRunner final : public Runner {
 public:
  EmuRunner(memory::GuestMemory mem, engine::emu::ExecMode mode)
      : mem_(std::move(mem)), mode_(mode) {}
  std::string_view name() const override {
    return mode_ == engine::emu::ExecMode::kJit ? "emu-jit" : "emu";
  }

  Outcome run(const TestCase& tc) override {
    Outcome bad;
    if (auto r = load_case(mem_, tc); !r) {
      bad.error = r.error().message;
      return bad;
    }
    StopOnPort io;
    Cpu cpu(mem_, io);
    cpu.set_exec_mode(mode_);
    cpu.set_jit_threshold(0);
    io.cpu = &cpu;
    cpu.state() = initial_state(tc);
    cpu.state_changed();
    const StopReason why = cpu.run(kMaxInstructions);
    if (!io.port) {
      bad.error = why == StopReason::kError      ? "emu error: " + cpu.error()
                  : why == StopReason::kShutdown ? "emu shutdown: " + cpu.error()
                  : why == StopReason::kHalt     ? std::string("emu halted")
                                                 : std::string("emu: no end within the limit");
      return bad;
    }
    return outcome_at_port(mem_, cpu.state(), *io.port, done_rip(tc));
  }

 private:
  memory::GuestMemory mem_;
  engine::emu::ExecMode mode_;
};

}  // namespace

Result<std::unique_ptr<Runner>> make_emu_runner(engine::emu::ExecMode mode) {
  auto mem = VESSEL_TRY(memory::GuestMemory::create(kGuestRam));
  VESSEL_TRY_VOID(install_layout(mem));
  return std::unique_ptr<Runner>(new EmuRunner(std::move(mem), mode));
}

}  // namespace vessel::difftest
