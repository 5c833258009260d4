// Internal types of the KVM engine, shared by its .cpp files only.
#pragma once

#include <linux/kvm.h>

#include <atomic>
#include <memory>
#include <vector>

#include "base/unique_fd.hpp"
#include "engine/engine.hpp"
#include "engine/kvm/kvm_abi.hpp"

namespace vessel::engine::kvm {

// ioctl with EINTR retry left to the caller; returns -1 and sets errno on failure.
int xioctl(int fd, unsigned long request, unsigned long arg);
template <class T>
int xioctl(int fd, unsigned long request, T* arg) {
  return xioctl(fd, request, reinterpret_cast<unsigned long>(arg));
}

struct KvmSystem {
  UniqueFd kvm;
  int vcpu_mmap_size = 0;
  std::vector<kvm_cpuid_entry2> supported_cpuid;  // from KVM_GET_SUPPORTED_CPUID
  std::vector<uint32_t> msr_index_list;           // MSRs this KVM can save and restore
};

class KvmVm final : public Vm {
 public:
  static Result<std::unique_ptr<KvmVm>> create(std::shared_ptr<const KvmSystem> sys,
                                               const memory::GuestMemory& memory,
                                               const VmOptions& options);
  Result<std::unique_ptr<Vcpu>> create_vcpu(unsigned index, bus::IoHandler& io) override;
  Result<void> signal_msi(uint64_t address, uint32_t data) override;
  void set_irq_level(uint32_t gsi, bool level) override;

 private:
  KvmVm(std::shared_ptr<const KvmSystem> sys, UniqueFd fd, bool irqchip)
      : sys_(std::move(sys)), fd_(std::move(fd)), irqchip_(irqchip) {}
  std::shared_ptr<const KvmSystem> sys_;
  UniqueFd fd_;
  bool irqchip_;
};

Result<std::unique_ptr<Vcpu>> create_kvm_vcpu(std::shared_ptr<const KvmSystem> sys, int vm_fd,
                                              unsigned index, bus::IoHandler& io);

}  // namespace vessel::engine::kvm
