// PciRoot: PCI bus 0 behind the host bridge. Holds the functions plugged into its 32 slots
// (one function each; slot 0 is the host bridge itself), routes configuration accesses to
// them, places their BARs, and wires their INTx# pins to GSIs with the swizzle documented in
// pci_layout.hpp. Several slots share a GSI, so the pins are combined (wired-OR, as level
// interrupts on a shared PCI line are) before the level reaches the machine's IrqSink.
//
// Config accesses to absent devices or other buses read as all-ones and are dropped on write
// (that is how software finds empty slots). The two ways in are in config_access.hpp.
//
// Wiring: auto root = std::make_shared<PciRoot>(buses.mmio, &vm);  // vm is the IrqSink
//         root->add(device) for each device (build time, before vCPUs run);
//         register PciConfigPorts and PciEcam (config_access.hpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "base/result.hpp"
#include "bus/bus.hpp"
#include "bus/irq.hpp"
#include "devices/pci/bar_allocator.hpp"
#include "devices/pci/pci_device.hpp"
#include "devices/pci/pci_layout.hpp"

namespace vessel::devices::pci {

class PciRoot final : public bus::IrqSink, public bus::Stateful {
 public:
  // Snapshots: the INTx levels (the devices are saved on their own).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  PciRoot(bus::Bus& mmio, bus::IrqSink* irq_sink, BarAllocator allocator = BarAllocator{});

  // Plugs `device` into `slot` (1-31), or the lowest free slot; places its BARs and enables
  // memory decoding as firmware would. Returns the slot.
  Result<unsigned> add(std::shared_ptr<PciDevice> device, std::optional<unsigned> slot = {});
  PciDevice* device(unsigned slot) const;

  // `reg` is the byte offset in the function's config space (0-4095).
  void config_read(uint8_t bus, uint8_t slot, uint8_t function, uint16_t reg,
                   std::span<uint8_t> data);
  void config_write(uint8_t bus, uint8_t slot, uint8_t function, uint16_t reg,
                    std::span<const uint8_t> data);

  // The INTx# input of `slot` (IrqSink with the slot number as the line).
  void set_irq_level(uint32_t slot, bool level) override;

 private:
  PciDevice* find(uint8_t bus, uint8_t slot, uint8_t function, uint16_t reg, size_t len) const;

  bus::Bus& mmio_;
  bus::IrqSink* irq_sink_;
  BarAllocator allocator_;
  mutable std::mutex mutex_;
  std::array<std::shared_ptr<PciDevice>, kDevicesPerBus> slots_;
  std::array<bool, kDevicesPerBus> slot_level_{};
  std::array<bool, kIntxGsiCount> gsi_level_{};
};

// The host bridge at 00.0 (class 06.00.00). Vendor 1b36 device 0008 is the ID assigned to a
// generic PCIe host bridge without chipset registers, which is what this is.
class HostBridge final : public PciDevice {
 public:
  HostBridge();
  std::string_view name() const override { return "pci-host-bridge"; }

 protected:
  void bar_read(unsigned, uint64_t, std::span<uint8_t> data) override;
  void bar_write(unsigned, uint64_t, std::span<const uint8_t>) override {}
  Result<void> save_function_state(bus::StateWriter&) const override { return {}; }
  Result<void> load_function_state(bus::StateReader&) override { return {}; }
};

}  // namespace vessel::devices::pci
