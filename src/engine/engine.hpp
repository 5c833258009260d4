// The engine interfaces: what the machine needs from a way of running guest code.
// Kept narrow on purpose. An Engine makes a Vm over GuestMemory; a Vm makes Vcpus and takes
// interrupt lines; a Vcpu runs until a control event. Port I/O and MMIO never come back out of
// run(): they are answered through the IoHandler given when the vCPU is made, on its thread.
// Engines know GuestMemory, the bus interfaces and CpuState; they never know a device.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "arch/x86/cpu_state.hpp"
#include "base/clock.hpp"
#include "base/result.hpp"
#include "bus/bus.hpp"
#include "bus/irq.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::engine {

enum class ExitKind {
  kHalt,         // HLT with nothing that could wake the vCPU (no interrupt source)
  kShutdown,     // triple fault
  kReset,        // the vCPU asked for a platform reset
  kInterrupted,  // kick() was called: the machine wants control back
  kError,        // the engine cannot go on (entry failure, emulation failure, ...)
};

struct VcpuExit {
  ExitKind kind;
  std::string detail;  // human-readable cause for kShutdown/kError
};

class Vcpu {
 public:
  virtual ~Vcpu() = default;
  virtual Result<arch::CpuState> state() = 0;
  virtual Result<void> set_state(const arch::CpuState& state) = 0;
  // Runs guest code on the calling thread until a control event.
  virtual Result<VcpuExit> run() = 0;
  // Thread-safe: makes a running run() return kInterrupted soon, or the next one at once.
  virtual void kick() = 0;
};

struct VmOptions {
  // Interrupt controllers and timers provided by the engine itself (KVM's in-kernel
  // irqchip and PIT). Without them, a HLT with nothing to wake it ends the vCPU's run.
  bool builtin_irqchip = false;
  unsigned vcpus = 1;
  // The VM's time line (base/clock.hpp VmClock) for engines that keep time themselves (the
  // software CPU's TSC); nullptr: the host's monotonic clock.
  const Clock* clock = nullptr;
};

class Vm : public bus::IrqSink {
 public:
  virtual Result<std::unique_ptr<Vcpu>> create_vcpu(unsigned index, bus::IoHandler& io) = 0;
  // Delivers a message-signalled interrupt (PCI MSI/MSI-X).
  virtual Result<void> signal_msi(uint64_t address, uint32_t data) = 0;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string_view name() const = 0;
  virtual Result<std::unique_ptr<Vm>> create_vm(const memory::GuestMemory& memory,
                                                const VmOptions& options) = 0;
};

}  // namespace vessel::engine
