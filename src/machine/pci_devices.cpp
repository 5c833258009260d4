#include "machine/pci_devices.hpp"

#include "backends/net/slirp_backend.hpp"
#include "backends/net/tap_backend.hpp"
#include "base/log.hpp"
#include "devices/pci/config_access.hpp"
#include "devices/pci/pci_root.hpp"
#include "devices/virtio/blk/file_backend.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/net/virtio_net.hpp"
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

// QEMU's locally administered prefix, so the address looks familiar; the last byte counts.
virtio::MacAddress default_mac(size_t index) {
  return {0x52, 0x54, 0x00, 0x12, 0x34, static_cast<uint8_t>(0x56 + index)};
}

Result<std::shared_ptr<virtio::VirtioNet>> make_net(const config::NetworkInterface& iface,
                                                    size_t index) {
  std::unique_ptr<backends::net::NetBackend> backend;
  if (iface.host_dev_name == config::kUserNetwork) {
    backend = VESSEL_TRY(backends::net::SlirpBackend::create(iface.host_forwards));
  } else {
    if (!iface.host_forwards.empty())
      return fail("network interface {}: port forwarding needs the user network", iface.iface_id);
    backend = VESSEL_TRY(backends::net::TapBackend::open(iface.host_dev_name));
  }
  const virtio::MacAddress mac =
      iface.guest_mac ? VESSEL_TRY(virtio::parse_mac(*iface.guest_mac)) : default_mac(index);
  auto net = std::make_shared<virtio::VirtioNet>(std::move(backend), mac);
  VESSEL_TRY_VOID(net->start());
  return net;
}

}  // namespace

Result<std::shared_ptr<pci::PciRoot>> build_pci_devices(
    bus::Buses& buses, engine::Vm& vm, const memory::GuestMemory& memory,
    const std::vector<config::Drive>& drives,
    const std::vector<config::NetworkInterface>& network_interfaces,
    std::shared_ptr<bus::IoDevice> reset_port) {
  auto root = std::make_shared<pci::PciRoot>(buses.mmio, &vm);
  VESSEL_TRY_VOID(
      buses.pio.add(pci::kConfigPortBase, pci::kConfigPortCount,
                    std::make_shared<ConfigAndResetPorts>(
                        std::make_shared<pci::PciConfigPorts>(root), std::move(reset_port))));
  VESSEL_TRY_VOID(
      buses.mmio.add(pci::kEcamBase, pci::kEcamSize, std::make_shared<pci::PciEcam>(root)));

  for (const config::Drive& drive : drives) {
    auto backend = virtio::FileBackend::open(drive.path_on_host, drive.is_read_only);
    if (!backend) return fail("drive {}: {}", drive.drive_id, backend.error().message);
    VESSEL_TRY_VOID(
        add_virtio(*root, vm, memory, std::make_shared<virtio::VirtioBlk>(std::move(*backend))));
  }
  for (size_t i = 0; i < network_interfaces.size(); ++i) {
    auto net = make_net(network_interfaces[i], i);
    if (!net)
      return fail("network interface {}: {}", network_interfaces[i].iface_id, net.error().message);
    VESSEL_TRY_VOID(add_virtio(*root, vm, memory, std::move(*net)));
  }
  VESSEL_TRY_VOID(add_virtio(*root, vm, memory, std::make_shared<virtio::VirtioRng>()));
  return root;
}

}  // namespace vessel::machine
