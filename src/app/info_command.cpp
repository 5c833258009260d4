#include <fmt/format.h>

#include "app/commands.hpp"
#include "app/default_guest.hpp"
#include "base/version.hpp"
#include "engine/choose.hpp"
#include "engine/host_probe.hpp"

namespace vessel::app {

int info_command() {
  const auto host = engine::probe_host();
  fmt::print("vessel {}\n", kVersion);
  if (host.kvm_usable)
    fmt::print("kvm:     usable (/dev/kvm, API version {})\n", host.kvm_api_version);
  else
    fmt::print("kvm:     not usable: {}\n", host.kvm_problem);
  fmt::print("pvm:     {}\n", host.kvm_is_pvm
                                  ? "yes: /dev/kvm is the PVM flavour (guest ring 0 and real mode "
                                    "are emulated by the host kernel, slowly)"
                                  : "no");
  fmt::print("vt-x/amd-v on host: {}\n", host.host_has_vmx_or_svm ? "yes" : "no");
  fmt::print("engines: kvm ({}), emu ({})\n", host.kvm_usable ? "available" : "unavailable",
             engine::emu_available() ? "available" : "not in this build");
  auto choice = engine::choose_engine(config::EngineKind::kAuto, host);
  fmt::print("auto:    {}\n", choice ? choice->why : "none: " + choice.error().message);
  fmt::print("default guest: {}\n", default_guest_dir());
  return 0;
}

}  // namespace vessel::app
