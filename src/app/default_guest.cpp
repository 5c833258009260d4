#include "app/default_guest.hpp"

#include <unistd.h>

#include <cstdlib>

namespace vessel::app {

std::string default_guest_dir() {
  if (const char* dir = std::getenv("VESSEL_GUEST_DIR"); dir && *dir) return dir;
  if (const char* cache = std::getenv("XDG_CACHE_HOME"); cache && *cache)
    return std::string(cache) + "/vessel/guest";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : "/root") + "/.cache/vessel/guest";
}

Result<void> use_default_guest(config::BootSource& boot, config::ConsoleSpec::Device console) {
  const std::string dir = default_guest_dir();
  // The uncompressed kernel when the build left one (scripts/build-guest.sh does): the guest
  // then need not decompress itself, which costs a software CPU far more than the host.
  std::string kernel = dir + "/vmlinux";
  if (::access(kernel.c_str(), R_OK) != 0) kernel = dir + "/vmlinuz";
  if (::access(kernel.c_str(), R_OK) != 0)
    return fail(
        "no --kernel given and no default guest in {} (build it with "
        "scripts/build-guest.sh)",
        dir);
  boot.kernel = kernel;
  if (boot.initrd.empty()) boot.initrd = dir + "/initramfs.cpio.gz";
  if (boot.cmdline.empty())
    boot.cmdline = console == config::ConsoleSpec::Device::kVirtio ? "console=hvc0 quiet"
                                                                   : "console=ttyS0 quiet";
  return {};
}

}  // namespace vessel::app
