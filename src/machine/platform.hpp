// Platform: the PC devices around the CPUs, built for the engine in use. Every machine has
// COM1, the debug-exit port and the MMIO test device. A machine booting Linux also gets the
// CMOS RTC, the i8042, the ACPI PM block and port 0x80; and when the engine has no interrupt
// controllers of its own (the software engine), the 8259 PICs, the 8254 PIT, the IOAPIC and a
// local APIC per vCPU, with the ISA IRQ routing the MP and ACPI tables describe (IRQ0 -> GSI 2).
//
// Devices reach the interrupt controllers through the engine's Vm (an IrqSink), so they are
// wired the same way for every engine; only this file knows which controllers exist. Linux
// machines also get the PCI devices of pci_devices.hpp; with emulated APICs, MSIs reach the
// local APICs through the ApicBus (devices/legacy/msi.hpp).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "backends/console.hpp"
#include "base/result.hpp"
#include "base/timer_queue.hpp"
#include "bus/bus.hpp"
#include "bus/device_state.hpp"
#include "bus/vm_control.hpp"
#include "config/devices.hpp"
#include "config/vm_config.hpp"
#include "devices/virtio/blk/blk_counters.hpp"
#include "devices/virtio/net/net_counters.hpp"
#include "engine/engine.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::machine {

// The virtio disks' and network cards' counters, summed (Firecracker's "block" and "net").
struct VirtioCounters {
  devices::virtio::BlkCounters block;
  devices::virtio::NetCounters net;
};

struct PlatformOptions {
  bool linux_devices = false;    // RTC, i8042, ACPI PM, port 0x80
  bool emulate_irqchip = false;  // PIC, PIT, IOAPIC, LAPICs (engines without their own)
  // PCI host bridge, virtio-rng, a virtio-blk per drive, a virtio-net per interface
  // (pci_devices.hpp); needs `memory`.
  bool pci = false;
  const memory::GuestMemory* memory = nullptr;
  std::vector<config::Drive> drives;
  // A virtio-console (Linux guests) that takes the console's input from the UART.
  bool virtio_console = false;
  config::VirtioTransport virtio_transport = config::VirtioTransport::kPci;
  std::vector<config::NetworkInterface> network_interfaces;
  unsigned vcpus = 1;
  uint64_t ram_below_4g = 0;
  uint64_t ram_above_4g = 0;
  // Timers for the PIT, RTC and LAPICs; owned by the machine so that it outlives every device,
  // including those a failed build leaves registered on the buses.
  TimerService* timers = nullptr;
  // A local APIC received a STARTUP IPI for vCPU `index` (emulated APICs only).
  std::function<void(unsigned index, uint8_t vector)> on_startup_ipi;
};

class Platform {
 public:
  virtual ~Platform() = default;
  static Result<std::unique_ptr<Platform>> create(bus::Buses& buses, engine::Vm& vm,
                                                  bus::VmControl& control,
                                                  backends::Console& console,
                                                  const PlatformOptions& options);

  // Per-vCPU wiring once the vCPU exists (the software engine's local APIC).
  virtual Result<void> attach_vcpu(unsigned index, engine::Vcpu& vcpu) = 0;
  // Called on each vCPU's thread before it first runs.
  virtual void on_vcpu_thread(unsigned index) = 0;
  // Host input for the console's device (the UART or the virtio-console); returns how many
  // bytes it took.
  virtual size_t console_input(std::span<const uint8_t> bytes) = 0;

  // Snapshots: every device's state in build order, each under its name. Fails naming the
  // first device that cannot be saved. load_state expects the same devices (the machine is
  // rebuilt from the same description first) and refuses anything else.
  virtual Result<void> save_state(bus::StateWriter& out) const = 0;
  virtual Result<void> load_state(bus::StateReader& in) = 0;
  // Ctrl+Alt+Del on the i8042 keyboard (Linux machines only).
  virtual Result<void> press_ctrl_alt_del() = 0;
  // Bytes the guest read from / wrote to the console UART.
  virtual std::pair<uint64_t, uint64_t> console_counters() const = 0;
  virtual VirtioCounters virtio_counters() const = 0;
};

}  // namespace vessel::machine
