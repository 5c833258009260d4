#include "machine/platform.hpp"

#include "base/clock.hpp"
#include "base/timer_queue.hpp"
#include "devices/legacy/acpi_pm.hpp"
#include "devices/legacy/apic_bus.hpp"
#include "devices/legacy/debug_exit.hpp"
#include "devices/legacy/i8042.hpp"
#include "devices/legacy/ioapic.hpp"
#include "devices/legacy/lapic.hpp"
#include "devices/legacy/msi.hpp"
#include "devices/legacy/pic8259.hpp"
#include "devices/legacy/pit8254.hpp"
#include "devices/legacy/port80.hpp"
#include "devices/legacy/port_window.hpp"
#include "devices/legacy/rtc_cmos.hpp"
#include "devices/legacy/test_device.hpp"
#include "devices/legacy/uart16550.hpp"
#include "devices/pci/config_access.hpp"
#include "devices/pci/pci_root.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/console/virtio_console.hpp"
#include "devices/virtio/mmio_transport.hpp"
#include "devices/virtio/net/virtio_net.hpp"
#include "engine/emu/emu_vcpu.hpp"
#include "machine/pci_devices.hpp"

namespace vessel::machine {
namespace {

constexpr uint32_t kRtcIrq = 8;
constexpr uint32_t kKeyboardIrq = 1;
constexpr uint32_t kPitIrq = 0;

// ISA IRQ n goes to PIC input n and IOAPIC pin n, except the PIT's IRQ 0, which the tables
// send to IOAPIC pin 2 (the interrupt source override every PC firmware describes).
class IsaIrqRouter final : public bus::IrqSink {
 public:
  IsaIrqRouter(devices::Pic8259& pic, devices::IoApic& ioapic) : pic_(pic), ioapic_(ioapic) {}
  void set_irq_level(uint32_t gsi, bool level) override {
    if (gsi < 16) pic_.set_irq_level(gsi, level);
    ioapic_.set_irq_level(gsi == kPitIrq ? 2 : gsi, level);
  }

 private:
  devices::Pic8259& pic_;
  devices::IoApic& ioapic_;
};

class PcPlatform final : public Platform {
 public:
  Result<void> build(bus::Buses& buses, engine::Vm& vm, bus::VmControl& control,
                     backends::Console& console, const PlatformOptions& options);
  Result<void> attach_vcpu(unsigned index, engine::Vcpu& vcpu) override;
  void on_vcpu_thread(unsigned index) override {
    if (index < lapics_.size()) devices::LocalApic::bind_to_current_thread(lapics_[index].get());
  }
  size_t console_input(std::span<const uint8_t> bytes) override {
    return virtio_console_ ? virtio_console_->receive(bytes) : uart_->receive(bytes);
  }
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  std::pair<uint64_t, uint64_t> console_counters() const override {
    return {uart_->bytes_read(), uart_->bytes_written()};
  }
  VirtioCounters virtio_counters() const override {
    VirtioCounters c;
    for (const auto& disk : virtio_.disks) c.block += disk->counters();
    for (const auto& net : virtio_.nets) c.net += net->counters();
    return c;
  }
  Result<void> press_ctrl_alt_del() override {
    if (!kbc_) return fail("this machine has no keyboard controller");
    kbc_->press_ctrl_alt_del();
    return {};
  }

 private:
  Result<void> build_linux_devices(bus::Buses& buses, engine::Vm& vm, bus::VmControl& control,
                                   const PlatformOptions& options);
  Result<void> build_irqchip(bus::Buses& buses, engine::Vm& vm, const PlatformOptions& options);

  TimerService* timers_ = nullptr;  // the machine's; outlives every device (see machine.hpp)
  std::shared_ptr<devices::Uart16550> uart_;
  std::shared_ptr<devices::virtio::VirtioConsole> virtio_console_;
  std::unique_ptr<devices::ApicBus> apic_bus_;
  std::shared_ptr<devices::Pic8259> pic_;
  std::shared_ptr<devices::IoApic> ioapic_;
  std::unique_ptr<IsaIrqRouter> router_;
  std::vector<std::shared_ptr<devices::LocalApic>> lapics_;
  std::vector<std::shared_ptr<bus::IoDevice>> keep_alive_;
  std::shared_ptr<devices::AcpiPm> pm_;
  std::shared_ptr<devices::pci::PciRoot> pci_root_;
  std::shared_ptr<devices::pci::PciConfigPorts> pci_config_ports_;
  VirtioHandles virtio_;
  std::shared_ptr<devices::I8042> kbc_;
  // Devices with state, in build order (owned through the members above and keep_alive_).
  std::vector<std::pair<std::string, bus::Stateful*>> stateful_;
  void keep_state(std::string name, bus::Stateful* device) {
    stateful_.emplace_back(std::move(name), device);
  }
};

Result<void> PcPlatform::build(bus::Buses& buses, engine::Vm& vm, bus::VmControl& control,
                               backends::Console& console, const PlatformOptions& options) {
  timers_ = options.timers;
  if ((options.linux_devices || options.emulate_irqchip) && !timers_)
    return fail("the PC platform needs a timer service");
  if (options.emulate_irqchip) VESSEL_TRY_VOID(build_irqchip(buses, vm, options));

  backends::Console* out = &console;
  uart_ = std::make_shared<devices::Uart16550>(
      bus::IrqLine(&vm, devices::kCom1Irq),
      [out](std::span<const uint8_t> bytes) { out->write(bytes); });
  VESSEL_TRY_VOID(buses.pio.add(devices::kCom1Port, 8, uart_));
  keep_state("uart-com1", uart_.get());
  VESSEL_TRY_VOID(
      buses.pio.add(devices::kDebugExitPort, 1, std::make_shared<devices::DebugExit>(control)));
  auto test_device = std::make_shared<devices::TestDevice>();
  VESSEL_TRY_VOID(buses.mmio.add(devices::kTestDeviceBase, devices::kTestDeviceSize, test_device));
  keep_state("test-device", test_device.get());
  if (options.linux_devices) VESSEL_TRY_VOID(build_linux_devices(buses, vm, control, options));
  if (options.pci) {
    if (!options.memory) return fail("PCI devices need the guest memory");
    VirtioDevices virtio{options.drives, options.network_interfaces, nullptr,
                         options.virtio_transport};
    // Both devices write to the console; only one takes its input (console_input()).
    if (options.virtio_console)
      virtio_console_ = virtio.console = std::make_shared<devices::virtio::VirtioConsole>(
          [out](std::span<const uint8_t> bytes) { out->write(bytes); });
    pci_root_ = VESSEL_TRY(
        build_pci_devices(buses, vm, *options.memory, virtio, pm_, &pci_config_ports_, &virtio_));
    keep_state("pci-root", pci_root_.get());
    keep_state("pci-config-ports", pci_config_ports_.get());
    for (unsigned slot = 0; slot < devices::pci::kDevicesPerBus; ++slot)
      if (auto* device = pci_root_->device(slot))
        keep_state(fmt::format("pci-{:02x} {}", slot, device->name()), device);
    for (size_t i = 0; i < virtio_.mmio.size(); ++i)
      keep_state(fmt::format("mmio-{} {}", i, virtio_.mmio[i]->name()), virtio_.mmio[i].get());
  }
  return {};
}

Result<void> PcPlatform::build_linux_devices(bus::Buses& buses, engine::Vm& vm,
                                             bus::VmControl& control,
                                             const PlatformOptions& options) {
  auto rtc = std::make_shared<devices::RtcCmos>(*timers_, bus::IrqLine(&vm, kRtcIrq));
  rtc->set_memory_size(options.ram_below_4g, options.ram_above_4g);
  VESSEL_TRY_VOID(devices::attach_ports(buses.pio, rtc, devices::RtcCmos::kPorts));
  auto kbc = std::make_shared<devices::I8042>(control, bus::IrqLine(&vm, kKeyboardIrq));
  VESSEL_TRY_VOID(devices::attach_ports(buses.pio, kbc, devices::I8042::kPorts));
  auto pm = std::make_shared<devices::AcpiPm>(timers_->clock(), control);
  // With PCI, the reset register (0xcf9) is reached through the PCI configuration ports.
  std::span<const devices::PortRange> pm_ports = devices::AcpiPm::kPorts;
  if (options.pci) pm_ports = pm_ports.first(1);
  VESSEL_TRY_VOID(devices::attach_ports(buses.pio, pm, pm_ports));
  pm_ = pm;
  auto port80 = std::make_shared<devices::Port80>();
  VESSEL_TRY_VOID(buses.pio.add(devices::Port80::kPort, 1, port80));
  keep_alive_.insert(keep_alive_.end(), {rtc, kbc, pm, port80});
  kbc_ = kbc;
  keep_state("rtc", rtc.get());
  keep_state("i8042", kbc.get());
  keep_state("acpi-pm", pm.get());
  return {};
}

Result<void> PcPlatform::build_irqchip(bus::Buses& buses, engine::Vm& vm,
                                       const PlatformOptions& options) {
  auto* emu_vm = dynamic_cast<engine::emu::EmuVm*>(&vm);
  if (!emu_vm) return fail("emulated interrupt controllers need the software engine");
  apic_bus_ = std::make_unique<devices::ApicBus>();
  pic_ = std::make_shared<devices::Pic8259>();
  VESSEL_TRY_VOID(devices::attach_ports(buses.pio, pic_, devices::Pic8259::kPorts));
  // The IOAPIC's ID follows the CPUs' (the MP table says so too).
  ioapic_ = std::make_shared<devices::IoApic>(*apic_bus_, static_cast<uint8_t>(options.vcpus));
  apic_bus_->set_eoi_listener(ioapic_.get());
  VESSEL_TRY_VOID(
      buses.mmio.add(devices::IoApic::kDefaultBase, devices::IoApic::kMmioSize, ioapic_));
  router_ = std::make_unique<IsaIrqRouter>(*pic_, *ioapic_);
  keep_state("pic", pic_.get());
  keep_state("ioapic", ioapic_.get());
  emu_vm->set_irq_sink(router_.get());
  // MSI/MSI-X writes are APIC messages (SDM Vol. 3A §10.11); malformed ones are dropped.
  emu_vm->set_msi_sink([bus = apic_bus_.get()](uint64_t address, uint32_t data) {
    if (auto message = devices::msi_to_apic_message(address, data)) bus->deliver(*message);
  });

  auto pit = std::make_shared<devices::Pit8254>(*timers_, bus::IrqLine(&vm, kPitIrq));
  VESSEL_TRY_VOID(devices::attach_ports(buses.pio, pit, devices::Pit8254::kPorts));
  keep_alive_.push_back(pit);
  keep_state("pit", pit.get());

  for (unsigned i = 0; i < options.vcpus; ++i) {
    auto lapic =
        std::make_shared<devices::LocalApic>(static_cast<uint8_t>(i), *apic_bus_, *timers_, i == 0);
    apic_bus_->attach(lapic.get());
    lapic->set_startup_handler([i, cb = options.on_startup_ipi](auto kind, uint8_t vector) {
      if (kind == devices::LocalApic::StartupKind::kStartup && cb) cb(i, vector);
    });
    keep_state(fmt::format("lapic-{}", i), lapic.get());
    lapics_.push_back(std::move(lapic));
  }
  // Virtual wire: the PIC's output reaches the boot CPU through LINT0 of its local APIC.
  lapics_[0]->set_extint_source(pic_.get());
  pic_->set_output_waker(&lapics_[0]->extint_waker());
  VESSEL_TRY_VOID(buses.mmio.add(devices::LocalApic::kDefaultBase, devices::LocalApic::kMmioSize,
                                 std::make_shared<devices::LocalApicWindow>()));
  return {};
}

Result<void> PcPlatform::attach_vcpu(unsigned index, engine::Vcpu& vcpu) {
  if (index >= lapics_.size()) return {};
  auto* emu_vcpu = dynamic_cast<engine::emu::EmuVcpu*>(&vcpu);
  if (!emu_vcpu) return fail("emulated local APICs need the software engine");
  bus::InterruptWaker& waker = emu_vcpu->attach_interrupt_controller(lapics_[index].get());
  lapics_[index]->set_waker(&waker);
  return {};
}

Result<void> PcPlatform::save_state(bus::StateWriter& out) const {
  out(uint64_t{stateful_.size()});
  for (const auto& [name, device] : stateful_) {
    bus::StateWriter blob;
    if (auto r = device->save_state(blob); !r) return fail("{}: {}", name, r.error().message);
    out(name, blob.data());
  }
  return {};
}

Result<void> PcPlatform::load_state(bus::StateReader& in) {
  uint64_t count = 0;
  in(count);
  if (in.ok() && count != stateful_.size())
    return fail("the snapshot has {} devices, this machine {}", count, stateful_.size());
  for (const auto& [name, device] : stateful_) {
    std::string saved_name;
    std::vector<uint8_t> blob;
    in(saved_name, blob);
    if (!in.ok()) return fail("device list: {}", in.finish().error().message);
    if (saved_name != name)
      return fail("expected device {}, the snapshot has {}", name, saved_name);
    bus::StateReader reader(blob);
    auto loaded = device->load_state(reader);
    if (loaded) loaded = reader.finish();
    if (!loaded) return fail("{}: {}", name, loaded.error().message);
  }
  return in.finish();
}

}  // namespace

Result<std::unique_ptr<Platform>> Platform::create(bus::Buses& buses, engine::Vm& vm,
                                                   bus::VmControl& control,
                                                   backends::Console& console,
                                                   const PlatformOptions& options) {
  auto platform = std::make_unique<PcPlatform>();
  VESSEL_TRY_VOID(platform->build(buses, vm, control, console, options));
  return std::unique_ptr<Platform>(std::move(platform));
}

}  // namespace vessel::machine
