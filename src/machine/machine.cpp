#include "machine/machine.hpp"

#include <sys/eventfd.h>

#include "backends/console.hpp"
#include "base/log.hpp"
#include "boot/loader.hpp"
#include "devices/legacy/debug_exit.hpp"
#include "devices/legacy/test_device.hpp"
#include "devices/legacy/uart16550.hpp"
#include "engine/choose.hpp"
#include "machine/host_limits.hpp"

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
  const auto image = VESSEL_TRY(boot::load_kernel(m->memory_, config.boot, platform));
  log::info("loaded {} image {}", image.format, config.boot.kernel);

  auto choice = VESSEL_TRY(engine::choose_engine(config.machine.engine, engine::probe_host()));
  m->engine_ = std::move(choice.engine);
  m->engine_why_ = std::move(choice.why);
  log::info("engine: {}", m->engine_why_);

  // Test payloads (flat, multiboot) run without interrupt controllers: a HLT then ends them.
  engine::VmOptions options;
  options.vcpus = config.machine.vcpus;
  options.builtin_irqchip = false;
  m->vm_ = VESSEL_TRY(m->engine_->create_vm(m->memory_, options));
  // Without an interrupt controller nothing can start the other processors.
  m->running_vcpus_ = options.builtin_irqchip ? config.machine.vcpus : 1;

  VESSEL_TRY_VOID(m->build_devices(config));

  for (unsigned i = 0; i < config.machine.vcpus; ++i)
    m->vcpus_.push_back(VESSEL_TRY(m->vm_->create_vcpu(i, m->buses_)));
  VESSEL_TRY_VOID(m->vcpus_[0]->set_state(image.entry));

  m->exit_event_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!m->exit_event_.valid()) return fail("eventfd: {}", std::strerror(errno));
  return m;
}

Result<void> Machine::build_devices(const config::VmConfig& config) {
  console_ = VESSEL_TRY(backends::Console::open(config.console));
  backends::Console* console = console_.get();
  uart_ = std::make_shared<devices::Uart16550>(
      bus::IrqLine(vm_.get(), devices::kCom1Irq),
      [console](std::span<const uint8_t> bytes) { console->write(bytes); });
  VESSEL_TRY_VOID(buses_.pio.add(devices::kCom1Port, 8, uart_));
  VESSEL_TRY_VOID(
      buses_.pio.add(devices::kDebugExitPort, 1, std::make_shared<devices::DebugExit>(*this)));
  VESSEL_TRY_VOID(buses_.mmio.add(devices::kTestDeviceBase, devices::kTestDeviceSize,
                                  std::make_shared<devices::TestDevice>()));
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
  const uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(exit_event_.get(), &one, sizeof one);
}

void Machine::request_reset(std::string reason) {
  // Restarting in place needs every device's reset path; until then a reset ends the VM
  // cleanly, as `-no-reboot` does in QEMU.
  request_exit(0, "guest requested a reset (" + reason + "); exiting");
}

}  // namespace vessel::machine
