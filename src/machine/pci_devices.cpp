#include "machine/pci_devices.hpp"

#include "base/log.hpp"
#include "devices/pci/config_access.hpp"
#include "devices/pci/pci_root.hpp"
#include "devices/virtio/blk/file_backend.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/pci_transport.hpp"
#include "devices/virtio/rng/virtio_rng.hpp"

namespace vessel::machine {
namespace {

namespace pci = devices::pci;
namespace virtio = devices::virtio;

constexpr uint16_t kResetPort = 0xCF9;

// Ports 0xCF8-0xCFF shared by the configuration mechanism and the reset register.
class ConfigAndResetPorts final : public bus::IoDevice {
 public:
  ConfigAndResetPorts(std::shared_ptr<pci::PciConfigPorts> config,
                      std::shared_ptr<bus::IoDevice> reset)
      : config_(std::move(config)), reset_(std::move(reset)) {}
  std::string_view name() const override { return "pci-config-ports"; }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    if (is_reset(offset, data.size())) return reset_->read(kResetPort, data);
    config_->read(offset, data);
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    if (is_reset(offset, data.size())) return reset_->write(kResetPort, data);
    config_->write(offset, data);
  }

 private:
  bool is_reset(uint64_t offset, size_t size) const {
    return reset_ && offset == kResetPort - pci::kConfigPortBase && size == 1;
  }
  std::shared_ptr<pci::PciConfigPorts> config_;
  std::shared_ptr<bus::IoDevice> reset_;
};

Result<void> add_virtio(pci::PciRoot& root, engine::Vm& vm, const memory::GuestMemory& memory,
                        std::shared_ptr<virtio::VirtioDevice> device) {
  auto transport = std::make_shared<virtio::VirtioPci>(std::move(device), memory);
  // Vm outlives the devices (Machine destroys the platform first).
  transport->set_msi_signal([&vm](uint64_t address, uint32_t data) {
    if (auto sent = vm.signal_msi(address, data); !sent)
      log::warn("MSI {:#x}/{:#x} dropped: {}", address, data, sent.error().message);
  });
  const unsigned slot = VESSEL_TRY(root.add(transport));
  log::info("pci 00:{:02x}.0: virtio-{}", slot, transport->name());
  return {};
}

}  // namespace

Result<std::shared_ptr<pci::PciRoot>> build_pci_devices(
    bus::Buses& buses, engine::Vm& vm, const memory::GuestMemory& memory,
    const std::vector<config::Drive>& drives, std::shared_ptr<bus::IoDevice> reset_port,
    std::shared_ptr<pci::PciConfigPorts>* config_ports) {
  auto root = std::make_shared<pci::PciRoot>(buses.mmio, &vm);
  auto ports = std::make_shared<pci::PciConfigPorts>(root);
  if (config_ports) *config_ports = ports;  // its address latch is snapshot state
  VESSEL_TRY_VOID(
      buses.pio.add(pci::kConfigPortBase, pci::kConfigPortCount,
                    std::make_shared<ConfigAndResetPorts>(ports, std::move(reset_port))));
  VESSEL_TRY_VOID(
      buses.mmio.add(pci::kEcamBase, pci::kEcamSize, std::make_shared<pci::PciEcam>(root)));

  for (const config::Drive& drive : drives) {
    auto backend = virtio::FileBackend::open(drive.path_on_host, drive.is_read_only);
    if (!backend) return fail("drive {}: {}", drive.drive_id, backend.error().message);
    VESSEL_TRY_VOID(
        add_virtio(*root, vm, memory, std::make_shared<virtio::VirtioBlk>(std::move(*backend))));
  }
  VESSEL_TRY_VOID(add_virtio(*root, vm, memory, std::make_shared<virtio::VirtioRng>()));
  return root;
}

}  // namespace vessel::machine
