// VirtioMmio: the virtio-mmio transport, version 2 register layout (virtio 1.2 §4.2.2), over
// the same VirtioCore as the PCI transport. kMmioSize bytes: control registers below 0x100
// (32-bit aligned accesses only, §4.2.2.1; others read 0 and are dropped), device configuration
// from 0x100. One interrupt line that stays asserted while InterruptStatus is non-zero
// (InterruptACK lowers it) and is re-asserted for every new interrupt, so that it works on a
// level-triggered pin (as the DSDT declares it) and on an edge-triggered one (a legacy IRQ given
// on the command line). Shared memory regions are not offered (SHMLen reads ~0).
//
// Snapshots (bus::Stateful): the select registers, then the core's state. The interrupt line's
// level is not saved here: the interrupt controller it drives saves its pins.
//
// Wiring: auto dev = std::make_shared<VirtioMmio>(virtio_device, memory, bus::IrqLine(&vm, gsi));
//         buses.mmio.add(slot.base, kMmioSize, dev);  // slot = pci::virtio_mmio_slot(n)
// and announce it to the guest (boot/virtio_mmio.hpp): "virtio_mmio.device=0x200@0xe0100000:5"
// on the command line (kernels with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES), and an ACPI device
// "LNRO0005" with that memory range and interrupt (level, active high) in the DSDT.
#pragma once

#include <memory>
#include <mutex>

#include "bus/device_state.hpp"
#include "bus/io_device.hpp"
#include "bus/irq.hpp"
#include "devices/virtio/virtio_core.hpp"

namespace vessel::devices::virtio {

class VirtioMmio final : public bus::IoDevice, public bus::Stateful, public InterruptTarget {
 public:
  static constexpr uint64_t kMmioSize = 0x200;
  static constexpr uint32_t kMagic = 0x74726976;  // "virt"
  static constexpr uint32_t kVersion = 2;
  static constexpr uint32_t kVendor = 0x6c737376;  // "vssl"

  VirtioMmio(std::shared_ptr<VirtioDevice> device, const memory::GuestMemory& memory,
             bus::IrqLine irq);

  std::string_view name() const override { return name_; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;
  VirtioCore& core() { return core_; }

  void raise(uint16_t vector, uint8_t isr) override;
  void lower() override;

  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;

 private:
  uint32_t read_register(uint64_t offset);
  void write_register(uint64_t offset, uint32_t value);
  void write_half(QueueField field, bool high, uint32_t value);

  VirtioCore core_;
  std::string name_;
  bus::IrqLine irq_;
  mutable std::mutex mutex_;  // the select registers below
  uint32_t device_feature_select_ = 0;
  uint32_t driver_feature_select_ = 0;
  uint16_t queue_select_ = 0;
};

}  // namespace vessel::devices::virtio
