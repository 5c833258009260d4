#include "engine/host_probe.hpp"

#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include "base/unique_fd.hpp"

namespace vessel::engine {
namespace {

bool cpu_flag(const std::string& flag) {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    return line.find(" " + flag + " ") != std::string::npos || line.ends_with(" " + flag);
  }
  return false;
}

}  // namespace

HostCapabilities probe_host() {
  HostCapabilities caps;
  caps.host_has_vmx_or_svm = cpu_flag("vmx") || cpu_flag("svm");
  struct stat st {};
  caps.kvm_is_pvm = ::stat("/sys/module/kvm_pvm", &st) == 0;
  UniqueFd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm.valid()) {
    caps.kvm_problem = std::string("cannot open /dev/kvm: ") + std::strerror(errno);
    return caps;
  }
  caps.kvm_api_version = ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0);
  if (caps.kvm_api_version != KVM_API_VERSION) {
    caps.kvm_problem = "unsupported KVM API version " + std::to_string(caps.kvm_api_version);
    return caps;
  }
  caps.kvm_usable = true;
  return caps;
}

}  // namespace vessel::engine
