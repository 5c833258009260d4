#include "machine/machine.hpp"

#include <sys/eventfd.h>

#include "backends/console.hpp"
#include "base/log.hpp"
#include "boot/loader.hpp"
#include "devices/pci/pci_layout.hpp"
#include "engine/choose.hpp"
#include "machine/host_limits.hpp"
#include "machine/pci_devices.hpp"

namespace vessel::machine {

Machine::Machine(memory::GuestMemory memory) : memory_(std::move(memory)) {}

Machine::~Machine() {
  if (console_) console_->stop();
}

Result<std::unique_ptr<Machine>> Machine::create(const config::VmConfig& config) {
  VESSEL_TRY_VOID(config::validate(config));
  VESSEL_TRY_VOID(check_memory_fits_host(config.machine.mem_mib));
  auto memory = VESSEL_TRY(memory::GuestMemory::create(config.machine.mem_mib << 20));
  std::unique_ptr<Machine> m(new Machine(std::move(memory)));

  boot::PlatformInfo platform;
  platform.vcpus = config.machine.vcpus;
  // Linux guests get the PCI host bridge (build_platform); its ECAM window must be
  // e820-reserved for Linux to trust the MCFG. Other images ignore both.
  platform.pci = true;
  platform.reserved.push_back({devices::pci::kEcamBase, devices::pci::kEcamSize});
  if (config.machine.virtio_transport == config::VirtioTransport::kMmio)
    platform.virtio_mmio = VESSEL_TRY(virtio_mmio_slots(
        virtio_device_count(config.drives.size(), config.network_interfaces.size(),
                            config.console.device == config::ConsoleSpec::Device::kVirtio)));
  const auto image = VESSEL_TRY(boot::load_kernel(m->memory_, config.boot, platform));
  log::info("loaded {} image {}", image.format, config.boot.kernel);

  VESSEL_TRY_VOID(m->assemble(config, image.format.starts_with("linux")));
  VESSEL_TRY_VOID(m->vcpus_[0]->set_state(image.entry));
  return m;
}

Result<void> Machine::assemble(const config::VmConfig& config, bool linux_guest) {
  auto choice = VESSEL_TRY(engine::choose_engine(config.machine.engine, engine::probe_host()));
  engine_ = std::move(choice.engine);
  engine_why_ = std::move(choice.why);
  log::info("engine: {}", engine_why_);

  // Test payloads (flat, multiboot) run without interrupt controllers: a HLT then ends them.
  // Linux gets the whole PC platform: KVM's in-kernel controllers, or emulated ones.
  const bool software_cpu = engine_->name() == "emu";
  linux_guest_ = linux_guest;
  builtin_irqchip_ = linux_guest && !software_cpu;
  drives_ = linux_guest ? config.drives : std::vector<config::Drive>{};
  if (linux_guest) network_interfaces_ = config.network_interfaces;
  virtio_console_ = linux_guest && config.console.device == config::ConsoleSpec::Device::kVirtio;
  virtio_transport_ = config.machine.virtio_transport;
  engine::VmOptions options;
  options.vcpus = config.machine.vcpus;
  options.builtin_irqchip = builtin_irqchip_;
  options.clock = &clock_;
  vm_ = VESSEL_TRY(engine_->create_vm(memory_, options));
  // Without an interrupt controller nothing can start the other processors.
  running_vcpus_ = linux_guest ? config.machine.vcpus : 1;

  VESSEL_TRY_VOID(build_platform(config, linux_guest));

  for (unsigned i = 0; i < config.machine.vcpus; ++i) {
    vcpus_.push_back(VESSEL_TRY(vm_->create_vcpu(i, buses_)));
    VESSEL_TRY_VOID(platform_->attach_vcpu(i, *vcpus_.back()));
  }
  // With KVM's irqchip the kernel holds APs until their SIPI; emulated APICs tell us instead.
  started_.assign(config.machine.vcpus, !software_cpu);
  started_[0] = true;

  exit_event_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!exit_event_.valid()) return fail("eventfd: {}", std::strerror(errno));
  return {};
}

Result<void> Machine::build_platform(const config::VmConfig& config, bool linux_guest) {
  console_ = VESSEL_TRY(backends::Console::open(config.console));
  PlatformOptions options;
  options.linux_devices = linux_guest;
  options.emulate_irqchip = linux_guest && engine_->name() == "emu";
  options.vcpus = config.machine.vcpus;
  options.pci = linux_guest;
  options.memory = &memory_;
  options.drives = config.drives;
  options.virtio_console = config.console.device == config::ConsoleSpec::Device::kVirtio;
  options.virtio_transport = config.machine.virtio_transport;
  if (options.virtio_console && !linux_guest)
    log::warn("the virtio-console needs a Linux guest; the serial console takes the input");
  options.network_interfaces = config.network_interfaces;
  if (!linux_guest && !config.drives.empty())
    log::warn("drives are only attached to Linux guests; ignoring {}", config.drives.size());
  if (!linux_guest && !config.network_interfaces.empty())
    log::warn("network interfaces are only attached to Linux guests; ignoring {}",
              config.network_interfaces.size());
  const uint64_t ram = memory_.ram_size();
  options.ram_below_4g = std::min(ram, memory::kMmioHoleStart);
  options.ram_above_4g = ram - options.ram_below_4g;
  options.on_startup_ipi = [this](unsigned index, uint8_t vector) {
    start_application_processor(index, vector);
  };
  if (options.linux_devices || options.emulate_irqchip) {
    timers_ = std::make_unique<TimerQueue>(clock_);
    options.timers = timers_.get();
  }
  platform_ = VESSEL_TRY(Platform::create(buses_, *vm_, *this, *console_, options));
  return {};
}

void Machine::request_exit(int status, std::string reason) {
  {
    std::lock_guard lock(exit_mutex_);
    if (exit_status_) return;  // the first request wins
    exit_status_ = status;
    exit_reason_ = std::move(reason);
  }
  stopping_.store(true);
  {
    std::lock_guard lock(pause_mutex_);  // wake parked vCPUs so that they see stopping_
    pause_cv_.notify_all();
  }
  // Stop the vCPUs now, not when run() wakes: a vCPU that asked to exit (debug-exit port, ACPI
  // power-off) must not go back into the guest meanwhile. kick() is safe from any thread.
  for (auto& vcpu : vcpus_) vcpu->kick();
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(exit_event_.get(), &one, sizeof one);
}

void Machine::request_reset(std::string reason) {
  // A reset ends this machine cleanly (as QEMU's -no-reboot); the caller decides whether to
  // build a fresh one (`vessel run --reboot restart`), which resets every device too.
  {
    std::lock_guard lock(exit_mutex_);
    if (!exit_status_) reset_requested_.store(true);
  }
  request_exit(0, "guest requested a reset (" + reason + ")");
}

}  // namespace vessel::machine
