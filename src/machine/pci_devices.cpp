#include "machine/pci_devices.hpp"

#include "backends/net/slirp_backend.hpp"
#include "backends/net/tap_backend.hpp"
#include "base/log.hpp"
#include "devices/pci/config_access.hpp"
#include "devices/pci/pci_root.hpp"
#include "devices/virtio/blk/file_backend.hpp"
#include "devices/virtio/blk/uring_backend.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/console/virtio_console.hpp"
#include "devices/virtio/mmio_transport.hpp"
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

// Host input for the console is served by the transport's core, as a notification would be.
template <class Transport>
void wake_through(virtio::VirtioConsole* console, const std::shared_ptr<Transport>& transport) {
  if (!console) return;
  console->set_wake([weak = std::weak_ptr<Transport>(transport)](uint16_t queue) {
    if (auto t = weak.lock()) t->core().process(queue);
  });
}

Result<std::shared_ptr<virtio::VirtioMmio>> add_virtio_mmio(
    bus::Buses& buses, engine::Vm& vm, const memory::GuestMemory& memory, unsigned index,
    std::shared_ptr<virtio::VirtioDevice> device, virtio::VirtioConsole* console) {
  static_assert(virtio::VirtioMmio::kMmioSize == pci::kVirtioMmioSize);
  if (index >= pci::kVirtioMmioMaxDevices) return fail("too many virtio-mmio devices");
  const pci::VirtioMmioSlot slot = pci::virtio_mmio_slot(index);
  auto transport =
      std::make_shared<virtio::VirtioMmio>(std::move(device), memory, bus::IrqLine(&vm, slot.gsi));
  VESSEL_TRY_VOID(buses.mmio.add(slot.base, slot.size, transport));
  wake_through(console, transport);
  log::info("virtio-mmio {:#x} (GSI {}): {}", slot.base, slot.gsi, transport->name());
  return transport;
}

Result<void> add_virtio(pci::PciRoot& root, engine::Vm& vm, const memory::GuestMemory& memory,
                        std::shared_ptr<virtio::VirtioDevice> device,
                        virtio::VirtioConsole* console = nullptr) {
  auto transport = std::make_shared<virtio::VirtioPci>(std::move(device), memory);
  wake_through(console, transport);
  // Vm outlives the devices (Machine destroys the platform first).
  transport->set_msi_signal([&vm](uint64_t address, uint32_t data) {
    if (auto sent = vm.signal_msi(address, data); !sent)
      log::warn("MSI {:#x}/{:#x} dropped: {}", address, data, sent.error().message);
  });
  const unsigned slot = VESSEL_TRY(root.add(transport));
  log::info("pci 00:{:02x}.0: virtio-{}", slot, transport->name());
  return {};
}

// The drive's image, through io_uring when it asked for "Async" and the host allows it (probed
// here), else with synchronous calls; the choice is logged.
Result<std::unique_ptr<virtio::BlockBackend>> open_drive(const config::Drive& drive) {
  auto file = virtio::FileBackend::open(drive.path_on_host, drive.is_read_only);
  if (!file) return fail("drive {}: {}", drive.drive_id, file.error().message);
  if (drive.io_engine == "Async") {
    auto ring = virtio::UringBackend::open(std::move(*file));
    if (ring) {
      log::info("{}: virtio-blk on io_uring", drive.drive_id);
      return std::unique_ptr<virtio::BlockBackend>(std::move(*ring));
    }
    log::warn("{}: io_uring unavailable ({}), virtio-blk uses synchronous I/O", drive.drive_id,
              ring.error().message);
    file = virtio::FileBackend::open(drive.path_on_host, drive.is_read_only);
    if (!file) return fail("drive {}: {}", drive.drive_id, file.error().message);
  } else {
    log::info("{}: virtio-blk on synchronous I/O", drive.drive_id);
  }
  return std::unique_ptr<virtio::BlockBackend>(std::move(*file));
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

Result<std::vector<pci::VirtioMmioSlot>> virtio_mmio_slots(unsigned count) {
  if (count > pci::kVirtioMmioMaxDevices)
    return fail("{} virtio devices do not fit on virtio-mmio (at most {})", count,
                pci::kVirtioMmioMaxDevices);
  std::vector<pci::VirtioMmioSlot> slots;
  for (unsigned i = 0; i < count; ++i) slots.push_back(pci::virtio_mmio_slot(i));
  return slots;
}

Result<std::shared_ptr<pci::PciRoot>> build_pci_devices(
    bus::Buses& buses, engine::Vm& vm, const memory::GuestMemory& memory,
    const VirtioDevices& virtio, std::shared_ptr<bus::IoDevice> reset_port,
    std::shared_ptr<pci::PciConfigPorts>* config_ports, VirtioHandles* handles) {
  auto root = std::make_shared<pci::PciRoot>(buses.mmio, &vm);
  auto ports = std::make_shared<pci::PciConfigPorts>(root);
  if (config_ports) *config_ports = ports;  // its address latch is snapshot state
  VESSEL_TRY_VOID(
      buses.pio.add(pci::kConfigPortBase, pci::kConfigPortCount,
                    std::make_shared<ConfigAndResetPorts>(ports, std::move(reset_port))));
  VESSEL_TRY_VOID(
      buses.mmio.add(pci::kEcamBase, pci::kEcamSize, std::make_shared<pci::PciEcam>(root)));

  std::vector<std::shared_ptr<virtio::VirtioDevice>> devices;
  for (const config::Drive& drive : virtio.drives) {
    auto backend = VESSEL_TRY(open_drive(drive));
    auto disk = std::make_shared<virtio::VirtioBlk>(std::move(backend));
    if (handles) handles->disks.push_back(disk);
    devices.push_back(std::move(disk));
  }
  for (size_t i = 0; i < virtio.network_interfaces.size(); ++i) {
    const config::NetworkInterface& iface = virtio.network_interfaces[i];
    auto net = make_net(iface, i);
    if (!net) return fail("network interface {}: {}", iface.iface_id, net.error().message);
    if (handles) handles->nets.push_back(*net);
    devices.push_back(std::move(*net));
  }
  devices.push_back(std::make_shared<virtio::VirtioRng>());
  if (virtio.console) devices.push_back(virtio.console);
  for (unsigned i = 0; i < devices.size(); ++i) {
    virtio::VirtioConsole* console = devices[i] == virtio.console ? virtio.console.get() : nullptr;
    if (virtio.transport == config::VirtioTransport::kMmio) {
      auto transport = VESSEL_TRY(add_virtio_mmio(buses, vm, memory, i, devices[i], console));
      if (handles) handles->mmio.push_back(std::move(transport));
    } else {
      VESSEL_TRY_VOID(add_virtio(*root, vm, memory, devices[i], console));
    }
  }
  return root;
}

}  // namespace vessel::machine
