// The two ways software reaches PCI configuration space, both forwarding to a PciRoot:
//  - PciConfigPorts: configuration mechanism #1 (PCI Local Bus Spec 3.0 §3.2.2.3.2), register
//    at kConfigPortBase for kConfigPortCount ports. CONFIG_ADDRESS (0xCF8, 32-bit accesses
//    only: bit 31 enable, bus 23:16, device 15:11, function 10:8, register 7:2) selects; the
//    data ports 0xCFC-0xCFF access that dword at any width. Only the first 256 bytes.
//  - PciEcam: the PCIe enhanced configuration access mechanism (PCIe Base Spec §7.2.2), an MMIO
//    window at kEcamBase of kEcamSize bytes, offset = bus << 20 | device << 15 | function << 12
//    | register; all 4 KiB of each function.
// Wiring: buses.pio.add(kConfigPortBase, kConfigPortCount, make_shared<PciConfigPorts>(root));
//         buses.mmio.add(kEcamBase, kEcamSize, make_shared<PciEcam>(root));
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "bus/device_state.hpp"
#include "bus/io_device.hpp"
#include "devices/pci/pci_root.hpp"

namespace vessel::devices::pci {

class PciConfigPorts final : public bus::IoDevice, public bus::Stateful {
 public:
  // Snapshots: the CONFIG_ADDRESS latch.
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  explicit PciConfigPorts(std::shared_ptr<PciRoot> root) : root_(std::move(root)) {}
  std::string_view name() const override { return "pci-config-ports"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  std::shared_ptr<PciRoot> root_;
  mutable std::mutex mutex_;
  uint32_t address_ = 0;
};

class PciEcam final : public bus::IoDevice {
 public:
  explicit PciEcam(std::shared_ptr<PciRoot> root) : root_(std::move(root)) {}
  std::string_view name() const override { return "pci-ecam"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

 private:
  std::shared_ptr<PciRoot> root_;
};

}  // namespace vessel::devices::pci
