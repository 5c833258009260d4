#include "engine/emu/emu_vcpu.hpp"

#include <algorithm>

#include "base/log.hpp"

namespace vessel::engine::emu {

EmuVcpu::EmuVcpu(const memory::GuestMemory& memory, bus::IoHandler& io, unsigned index)
    : cpu_(memory, io, index) {}

EmuVcpu::~EmuVcpu() {
  if (auto s = cpu_.exec_stats(); !s.empty())
    log::info("vCPU {}: {} instructions; {}", cpu_.index(), cpu_.instructions_retired(), s);
}

Result<arch::CpuState> EmuVcpu::state() {
  arch::CpuState s = cpu_.state();
  s.tsc = cpu_.read_tsc();  // the TSC runs between runs too (a vCPU waiting for its SIPI)
  return s;
}

Result<void> EmuVcpu::set_state(const arch::CpuState& state) {
  cpu_.state() = state;
  cpu_.state_changed();
  return {};
}

bus::InterruptWaker& EmuVcpu::attach_interrupt_controller(bus::InterruptController* ic) {
  ic_ = ic;
  cpu_.set_interrupt_controller(ic);
  return *this;
}

void EmuVcpu::wake() {
  cpu_.request_exit();  // out of chained translated code, to take the interrupt
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void EmuVcpu::kick() {
  cpu_.request_stop();
  {
    std::lock_guard lock(mutex_);
    kicked_ = true;
  }
  cv_.notify_all();
}

Result<VcpuExit> EmuVcpu::run() {
  for (;;) {
    switch (cpu_.run(kSlice)) {
      case StopReason::kInstructionLimit:
        continue;
      case StopReason::kInterrupted: {
        std::lock_guard lock(mutex_);
        kicked_ = false;
        return VcpuExit{ExitKind::kInterrupted, {}};
      }
      case StopReason::kShutdown:
        return VcpuExit{ExitKind::kShutdown, cpu_.error()};
      case StopReason::kError:
        return VcpuExit{ExitKind::kError, cpu_.error()};
      case StopReason::kHalt:
        break;
    }
    if (!ic_) return VcpuExit{ExitKind::kHalt, "HLT with no interrupt controller attached"};
    // Asleep in HLT until the controller's waker or kick() (no polling). An interrupt that
    // became pending before we got here has already set woken_.
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return woken_ || kicked_; });
    woken_ = false;
    // A kick is seen by the next cpu_.run(), which returns kInterrupted at once.
  }
}

Result<std::unique_ptr<Vcpu>> EmuVm::create_vcpu(unsigned index, bus::IoHandler& io) {
  if (index >= options_.vcpus) return fail("vCPU index {} out of range", index);
  auto vcpu = std::make_unique<EmuVcpu>(memory_, io, index);
  vcpu->cpu().share_tsc(tsc_delta_);
  if (!code_pages_) {
    uint64_t top = 0;
    for (const auto& r : memory_.regions()) top = std::max(top, r.end());
    code_pages_ = std::make_shared<SharedCodePages>(top >> 12);
  }
  vcpu->cpu().share_code_pages(code_pages_);
  vcpu->cpu().set_clock(options_.clock);
  return std::unique_ptr<Vcpu>(std::move(vcpu));
}

Result<void> EmuVm::signal_msi(uint64_t address, uint32_t data) {
  if (!msi_sink_) return fail("MSI {:#x}/{:#x}: no interrupt controller for MSIs", address, data);
  msi_sink_(address, data);
  return {};
}

void EmuVm::set_irq_level(uint32_t gsi, bool level) {
  if (irq_sink_) irq_sink_->set_irq_level(gsi, level);
}

}  // namespace vessel::engine::emu
