// VirtioPci: the modern (virtio 1.x, non-transitional) PCI transport (virtio 1.2 §4.1).
// Vendor 0x1af4, device 0x1040 + device type, revision 1. One 64-bit memory BAR (BAR 0,
// kBarSize bytes) holds every structure, each found through a vendor capability (§4.1.4):
//   0x0000 common configuration (§4.1.4.3)      0x3000 notifications, 4 bytes per queue
//   0x1000 ISR status (read clears, §4.1.4.5)   0x4000 MSI-X table (queues + 1 vectors)
//   0x2000 device configuration                 0x5000 MSI-X PBA
// Interrupts: MSI-X when the driver enabled it (a source without a vector raises nothing,
// §4.1.5.1.2), otherwise INTx# with the ISR status as the level. An MSI-X vector number beyond
// the table reads back as NO_VECTOR and is logged once. The PCI configuration access capability
// (VIRTIO_PCI_CAP_PCI_CFG) is not offered; Linux does not need it.
//
// Wiring: auto dev = std::make_shared<VirtioPci>(std::make_shared<VirtioBlk>(...), memory);
//         dev->set_msi_signal([&vm](uint64_t a, uint32_t d) { (void)vm.signal_msi(a, d); });
//         root->add(dev);  // places BAR 0, wires INTx#
#pragma once

#include <memory>

#include "devices/pci/pci_device.hpp"
#include "devices/virtio/virtio_core.hpp"

namespace vessel::devices::virtio {

class VirtioPci final : public pci::PciDevice, public InterruptTarget {
 public:
  static constexpr uint64_t kBarSize = 0x8000;
  static constexpr uint64_t kCommonOffset = 0x0000;
  static constexpr uint64_t kIsrOffset = 0x1000;
  static constexpr uint64_t kDeviceConfigOffset = 0x2000;
  static constexpr uint64_t kNotifyOffset = 0x3000;
  static constexpr uint32_t kNotifyMultiplier = 4;
  static constexpr uint32_t kMsixTableOffset = 0x4000;
  static constexpr uint32_t kMsixPbaOffset = 0x5000;

  VirtioPci(std::shared_ptr<VirtioDevice> device, const memory::GuestMemory& memory);

  std::string_view name() const override { return name_; }
  void set_msi_signal(pci::MsiSignal signal) { msix()->set_signal(std::move(signal)); }
  VirtioCore& core() { return core_; }

  void raise(uint16_t vector, uint8_t isr) override;
  void lower() override;

 protected:
  void bar_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) override;
  void bar_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data) override;
  Result<void> save_function_state(bus::StateWriter& out) const override;
  Result<void> load_function_state(bus::StateReader& in) override;

 private:
  void add_virtio_capabilities();
  uint64_t common_read(uint64_t offset, size_t size);
  void common_write(uint64_t offset, size_t size, uint64_t value);
  uint16_t checked_vector(uint16_t vector);

  VirtioCore core_;
  std::string name_;
  uint16_t msix_vectors_;
  mutable std::mutex mutex_;  // the select registers below
  uint32_t device_feature_select_ = 0;
  uint32_t driver_feature_select_ = 0;
  uint16_t queue_select_ = 0;
  bool warned_vector_ = false;
};

}  // namespace vessel::devices::virtio
