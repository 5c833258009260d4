// The PCI side of a Linux guest's machine: the host bridge with both configuration access
// paths (ports 0xCF8 and the ECAM window, devices/pci/config_access.hpp), one virtio-blk per
// configured drive, one virtio-net per network interface (host_dev_name "user": libslirp,
// otherwise a tap of that name), one virtio-rng and the virtio-console, on the modern virtio PCI
// transport (or, with --virtio-transport mmio, on virtio-mmio transports, interrupting through
// the IOAPIC on the GSIs of pci_layout.hpp's slots). PCI interrupts are
// MSI-X through Vm::signal_msi (KVM_SIGNAL_MSI, or the emulated APICs' MSI sink), with INTx#
// through the Vm's IrqSink as the fallback. The firmware tables describing this are written by
// boot (PlatformInfo::pci, acpi/pci.hpp).
//
// Port 0xCF9 (the PIIX/ICH reset control register, FADT RESET_REG) sits inside the 0xCF8-0xCFF
// range: CONFIG_ADDRESS takes only dword accesses (PCI Local Bus Spec 3.0 §3.2.2.3.2), so byte
// accesses at 0xCF9 go to `reset_port` (an IoDevice addressed by absolute port number).
#pragma once

#include <memory>
#include <vector>

#include "base/result.hpp"
#include "bus/bus.hpp"
#include "config/devices.hpp"
#include "config/vm_config.hpp"
#include "devices/pci/pci_layout.hpp"
#include "engine/engine.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::devices::pci {
class PciRoot;
class PciConfigPorts;
}  // namespace vessel::devices::pci
namespace vessel::devices::virtio {
class VirtioConsole;
class VirtioMmio;
class VirtioBlk;
class VirtioNet;
}  // namespace vessel::devices::virtio

namespace vessel::machine {

// The virtio devices of the machine, in this order: a virtio-blk per drive, a virtio-net per
// network interface, virtio-rng, and the virtio-console when there is one. On virtio-mmio, device n
// takes slot n of pci_layout.hpp (the same slots the boot tables announce: virtio_mmio_slots()).
struct VirtioDevices {
  std::vector<config::Drive> drives;
  std::vector<config::NetworkInterface> network_interfaces;
  std::shared_ptr<devices::virtio::VirtioConsole> console;  // null: none
  config::VirtioTransport transport = config::VirtioTransport::kPci;
};

// What the platform keeps of the virtio devices built: the virtio-mmio transports in slot
// order (snapshots), the disks and the network cards (metrics).
struct VirtioHandles {
  std::vector<std::shared_ptr<devices::virtio::VirtioMmio>> mmio;
  std::vector<std::shared_ptr<devices::virtio::VirtioBlk>> disks;
  std::vector<std::shared_ptr<devices::virtio::VirtioNet>> nets;
};

Result<std::shared_ptr<devices::pci::PciRoot>> build_pci_devices(
    bus::Buses& buses, engine::Vm& vm, const memory::GuestMemory& memory,
    const VirtioDevices& virtio, std::shared_ptr<bus::IoDevice> reset_port,
    std::shared_ptr<devices::pci::PciConfigPorts>* config_ports = nullptr,
    VirtioHandles* handles = nullptr);

inline unsigned virtio_device_count(size_t drives, size_t nets, bool console) {
  return static_cast<unsigned>(drives + nets) + 1 + (console ? 1 : 0);
}

// The virtio-mmio slots `count` devices take; fails when there are not enough.
Result<std::vector<devices::pci::VirtioMmioSlot>> virtio_mmio_slots(unsigned count);

}  // namespace vessel::machine
