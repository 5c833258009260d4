// vessel: a virtual machine monitor for x86-64 Linux hosts.
//   vessel run [options]   boot a VM (the default guest when no --kernel is given)
//   vessel info            what this host offers (KVM, PVM, engines)
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "app/api_command.hpp"
#include "app/commands.hpp"
#include "app/default_guest.hpp"
#include "app/disk_option.hpp"
#include "app/net_option.hpp"
#include "base/log.hpp"
#include "base/version.hpp"
#include "engine/emu/exec_mode.hpp"
#include "machine/machine.hpp"

namespace vessel::app {
namespace {

struct RunOptions {
  config::VmConfig config;
  std::string engine = "auto";
  std::string console = "stdio";
  std::string load_address;
  std::string reboot = "exit";
  std::string console_device = "serial";
  std::string virtio_transport = "pci";
  std::string emu_exec;            // --emu-exec; empty: the default (engine/emu/exec_mode.hpp)
  std::vector<std::string> disks;  // --disk, parsed by finish_run_options
  std::vector<std::string> nets;   // --net, likewise
  ApiOptions api;                  // --api-sock, --config-file, --no-api (api_command.cpp)
};

void add_run_options(CLI::App& run, RunOptions& o) {
  auto& boot = o.config.boot;
  auto& machine = o.config.machine;
  run.add_option("--kernel", boot.kernel,
                 "Kernel or payload: Linux bzImage/vmlinux, multiboot ELF, or flat binary "
                 "(default: the default guest)")
      ->check(CLI::ExistingFile);
  run.add_option("--initrd", boot.initrd, "Initial ramdisk")->check(CLI::ExistingFile);
  run.add_option("--cmdline", boot.cmdline, "Kernel command line");
  run.add_option("--mem", machine.mem_mib, "Guest memory in MiB")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  run.add_option("--cpus", machine.vcpus, "Number of vCPUs")->capture_default_str();
  run.add_option("--engine", o.engine, "Engine: kvm, emu or auto")
      ->capture_default_str()
      ->check(CLI::IsMember({"kvm", "emu", "auto"}));
  run.add_option("--emu-exec", o.emu_exec,
                 "emu engine: execute guest code with the translator (jit, default) or the "
                 "interpreter (interp)")
      ->check(CLI::IsMember({"interp", "jit"}));
  run.add_option("--console", o.console, "Serial console: stdio, none or file:PATH")
      ->capture_default_str();
  run.add_option("--console-device", o.console_device,
                 "Guest device on the console: serial (COM1, ttyS0) or virtio (virtio-console, "
                 "hvc0)")
      ->capture_default_str()
      ->check(CLI::IsMember({"serial", "virtio"}));
  run.add_option("--virtio-transport", o.virtio_transport,
                 "Where virtio devices go: pci, or mmio (announced on the kernel command line "
                 "and in ACPI)")
      ->capture_default_str()
      ->check(CLI::IsMember({"pci", "mmio"}));
  run.add_option("--reboot", o.reboot,
                 "What a guest reboot does: exit (end vessel, status 0) or restart the VM")
      ->capture_default_str()
      ->check(CLI::IsMember({"exit", "restart"}));
  run.add_option("--load-addr", o.load_address,
                 "Flat binaries: guest-physical load and start address (default 0x7c00)");
  run.add_option("--disk", o.disks,
                 "Virtio block disk: path=FILE[,readonly=on][,io=uring|sync] (repeatable)")
      ->allow_extra_args(false);
  run.add_option("--net", o.nets,
                 "Virtio network card (repeatable; Linux guests): "
                 "user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]...[,mac=MAC] for user-mode networking "
                 "(libslirp: DHCP, DNS, host at 10.0.2.2, forwards on 127.0.0.1), or "
                 "tap=NAME[,mac=MAC]")
      ->allow_extra_args(false);
  add_api_options(run, o.api);
}

Result<void> finish_run_options(RunOptions& o) {
  o.config.machine.engine = VESSEL_TRY(config::parse_engine_kind(o.engine));
  o.config.console = VESSEL_TRY(config::parse_console(o.console));
  o.config.console.device = VESSEL_TRY(config::parse_console_device(o.console_device));
  o.config.machine.virtio_transport =
      VESSEL_TRY(config::parse_virtio_transport(o.virtio_transport));
  o.config.machine.restart_on_reset = o.reboot == "restart";
  if (auto mode = engine::emu::parse_exec_mode(o.emu_exec))
    engine::emu::set_default_exec_mode(*mode);
  if (!o.load_address.empty()) {
    size_t used = 0;
    uint64_t addr = 0;
    try {
      addr = std::stoull(o.load_address, &used, 0);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != o.load_address.size()) return fail("bad --load-addr '{}'", o.load_address);
    o.config.boot.load_address = addr;
  }
  for (size_t i = 0; i < o.disks.size(); ++i)
    o.config.drives.push_back(VESSEL_TRY(parse_disk_option(o.disks[i], unsigned(i))));
  for (size_t i = 0; i < o.nets.size(); ++i)
    o.config.network_interfaces.push_back(VESSEL_TRY(parse_net_option(o.nets[i], unsigned(i))));
  // With the API or a config file the kernel comes later (PUT /boot-source, the file).
  if (o.config.boot.kernel.empty() && !o.api.wanted())
    VESSEL_TRY_VOID(use_default_guest(o.config.boot, o.config.console.device));
  return {};
}

int main_impl(int argc, char** argv) {
  CLI::App app{"vessel: a virtual machine monitor for x86-64 Linux hosts", "vessel"};
  app.set_version_flag("--version", std::string("vessel ") + kVersion);
  app.require_subcommand(1);
  int verbosity = 0;
  app.add_flag("-v,--verbose", verbosity, "More diagnostics on stderr (repeat for debug)");

  RunOptions run_options;
  CLI::App* run = app.add_subcommand("run", "Boot a VM");
  add_run_options(*run, run_options);
  CLI::App* info = app.add_subcommand("info", "Show what this host offers (KVM, PVM, engines)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    fmt::print(stderr, "vessel: error: {} (see 'vessel --help')\n", e.what());
    return 1;
  }
  log::set_level(verbosity >= 2   ? log::Level::kDebug
                 : verbosity == 1 ? log::Level::kInfo
                                  : log::Level::kWarn);
  if (info->parsed()) return info_command();
  if (auto done = finish_run_options(run_options); !done) {
    log::error("{}", done.error().message);
    return 1;
  }
  if (run_options.api.wanted())
    return api_run_command(std::move(run_options.config), run_options.api);
  return run_command(std::move(run_options.config));
}

}  // namespace
}  // namespace vessel::app

int main(int argc, char** argv) {
  vessel::machine::block_stop_signals();
  return vessel::app::main_impl(argc, argv);
}
