// What this host offers for running guests: is /dev/kvm there and usable, and is it the PVM
// flavour (guest ring 0 emulated by the host kernel, so slow). Used by `vessel info` and by
// `--engine auto`.
#pragma once

#include <string>

namespace vessel::engine {

struct HostCapabilities {
  bool kvm_usable = false;
  std::string kvm_problem;  // why not, when !kvm_usable
  int kvm_api_version = 0;
  bool kvm_is_pvm = false;  // the kvm_pvm module provides /dev/kvm
  bool host_has_vmx_or_svm = false;
};

HostCapabilities probe_host();

}  // namespace vessel::engine
