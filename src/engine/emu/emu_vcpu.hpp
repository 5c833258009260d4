// EmuVm and EmuVcpu: the software CPU behind the engine interfaces (engine/engine.hpp).
//
// Interrupt wiring, for the machine (the only place that sees both engines and devices):
//  - `EmuVcpu::attach_interrupt_controller(ic)` connects the vCPU's interrupt controller (the
//    emulated LAPIC, or the PIC in virtual-wire mode) and returns the InterruptWaker the
//    controller must call whenever an interrupt or NMI becomes pending for this vCPU (it wakes
//    a vCPU asleep in HLT). Call it before the first run().
//  - `EmuVm::set_irq_sink(sink)` sets where `Vm::set_irq_level` goes (the emulated PIC/IOAPIC);
//    `EmuVm::set_msi_sink(fn)` the same for `Vm::signal_msi` (the emulated LAPICs).
// HLT without an attached controller ends run() with ExitKind::kHalt (the machine then ends a
// test payload); with one, the vCPU sleeps on a condition variable until woken or kicked.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>

#include "engine/emu/cpu.hpp"
#include "engine/engine.hpp"

namespace vessel::engine::emu {

class EmuVcpu final : public Vcpu, private bus::InterruptWaker {
 public:
  // Instructions per Cpu::run slice (between looks at kick()).
  static constexpr uint64_t kSlice = 1'000'000;

  EmuVcpu(const memory::GuestMemory& memory, bus::IoHandler& io, unsigned index);
  ~EmuVcpu() override;  // logs the translator statistics (vessel run -v)
  Result<arch::CpuState> state() override;
  Result<void> set_state(const arch::CpuState& state) override;
  Result<VcpuExit> run() override;
  void kick() override;

  bus::InterruptWaker& attach_interrupt_controller(bus::InterruptController* ic);
  Cpu& cpu() { return cpu_; }

 private:
  void wake() override;
  Cpu cpu_;
  bus::InterruptController* ic_ = nullptr;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool woken_ = false;
  bool kicked_ = false;
};

class EmuVm final : public Vm {
 public:
  EmuVm(const memory::GuestMemory& memory, const VmOptions& options)
      : memory_(memory), options_(options) {}
  Result<std::unique_ptr<Vcpu>> create_vcpu(unsigned index, bus::IoHandler& io) override;
  Result<void> signal_msi(uint64_t address, uint32_t data) override;
  void set_irq_level(uint32_t gsi, bool level) override;

  void set_irq_sink(bus::IrqSink* sink) { irq_sink_ = sink; }
  void set_msi_sink(std::function<void(uint64_t, uint32_t)> sink) { msi_sink_ = std::move(sink); }

 private:
  const memory::GuestMemory& memory_;
  VmOptions options_;
  bus::IrqSink* irq_sink_ = nullptr;
  std::function<void(uint64_t, uint32_t)> msi_sink_;
  std::shared_ptr<std::atomic<int64_t>> tsc_delta_ = std::make_shared<std::atomic<int64_t>>(0);
  std::shared_ptr<SharedCodePages> code_pages_;  // one per VM, made with the first vCPU
};

}  // namespace vessel::engine::emu
