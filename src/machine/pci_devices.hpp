// The PCI side of a Linux guest's machine: the host bridge with both configuration access
// paths (ports 0xCF8 and the ECAM window, devices/pci/config_access.hpp), one virtio-blk per
// configured drive and one virtio-rng, all on the modern virtio PCI transport. Interrupts are
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
#include "engine/engine.hpp"
#include "memory/guest_memory.hpp"

namespace vessel::devices::pci {
class PciRoot;
class PciConfigPorts;
}  // namespace vessel::devices::pci

namespace vessel::machine {

Result<std::shared_ptr<devices::pci::PciRoot>> build_pci_devices(
    bus::Buses& buses, engine::Vm& vm, const memory::GuestMemory& memory,
    const std::vector<config::Drive>& drives, std::shared_ptr<bus::IoDevice> reset_port,
    std::shared_ptr<devices::pci::PciConfigPorts>* config_ports = nullptr);

}  // namespace vessel::machine
