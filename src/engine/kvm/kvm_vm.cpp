#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "engine/kvm/kvm_internal.hpp"

namespace vessel::engine::kvm {
namespace {

// Three pages just below the BIOS area that Intel VMX needs for real-mode emulation (the TSS)
// and the identity map; they sit in the MMIO hole, never in RAM (api.rst KVM_SET_TSS_ADDR).
constexpr uint64_t kTssAddress = 0xfffb'd000;
constexpr uint64_t kIdentityMapAddress = 0xfffb'c000;

}  // namespace

Result<std::unique_ptr<KvmVm>> KvmVm::create(std::shared_ptr<const KvmSystem> sys,
                                             const memory::GuestMemory& memory,
                                             const VmOptions& options) {
  UniqueFd fd(xioctl(sys->kvm.get(), KVM_CREATE_VM, 0ul));
  if (!fd.valid()) return fail("KVM_CREATE_VM: {}", std::strerror(errno));
  if (xioctl(fd.get(), KVM_SET_TSS_ADDR, kTssAddress) != 0)
    return fail("KVM_SET_TSS_ADDR: {}", std::strerror(errno));
  uint64_t identity = kIdentityMapAddress;
  if (xioctl(fd.get(), KVM_SET_IDENTITY_MAP_ADDR, &identity) != 0)
    log::debug("KVM_SET_IDENTITY_MAP_ADDR: {} (not needed on this host)", std::strerror(errno));

  uint32_t slot = 0;
  for (const memory::Region& r : memory.regions()) {
    kvm_userspace_memory_region region{};
    region.slot = slot++;
    region.guest_phys_addr = r.gpa;
    region.memory_size = r.size;
    region.userspace_addr = reinterpret_cast<uint64_t>(r.host);
    if (xioctl(fd.get(), KVM_SET_USER_MEMORY_REGION, &region) != 0)
      return fail("KVM_SET_USER_MEMORY_REGION for [{:#x}, +{:#x}): {}", r.gpa, r.size,
                  std::strerror(errno));
  }

  if (options.builtin_irqchip) {
    if (xioctl(sys->kvm.get(), KVM_CHECK_EXTENSION, static_cast<unsigned long>(KVM_CAP_IRQCHIP)) <=
        0)
      return fail("this KVM has no in-kernel irqchip (KVM_CAP_IRQCHIP)");
    if (xioctl(fd.get(), KVM_CREATE_IRQCHIP, 0ul) != 0)
      return fail("KVM_CREATE_IRQCHIP: {}", std::strerror(errno));
    kvm_pit_config pit{};
    pit.flags = KVM_PIT_SPEAKER_DUMMY;
    if (xioctl(fd.get(), KVM_CREATE_PIT2, &pit) != 0)
      return fail("KVM_CREATE_PIT2: {}", std::strerror(errno));
  }
  return std::unique_ptr<KvmVm>(new KvmVm(std::move(sys), std::move(fd), options.builtin_irqchip));
}

Result<std::unique_ptr<Vcpu>> KvmVm::create_vcpu(unsigned index, bus::IoHandler& io) {
  return create_kvm_vcpu(sys_, fd_.get(), index, io);
}

void KvmVm::set_irq_level(uint32_t gsi, bool level) {
  if (!irqchip_) return;  // no interrupt controller to deliver to: the line is not connected
  kvm_irq_level irq{};
  irq.irq = gsi;
  irq.level = level ? 1 : 0;
  if (xioctl(fd_.get(), KVM_IRQ_LINE, &irq) != 0)
    log::warn("KVM_IRQ_LINE gsi {}: {}", gsi, std::strerror(errno));
}

Result<void> KvmVm::signal_msi(uint64_t address, uint32_t data) {
  kvm_msi msi{};
  msi.address_lo = static_cast<uint32_t>(address);
  msi.address_hi = static_cast<uint32_t>(address >> 32);
  msi.data = data;
  if (xioctl(fd_.get(), KVM_SIGNAL_MSI, &msi) < 0)
    return fail("KVM_SIGNAL_MSI: {}", std::strerror(errno));
  return {};
}

}  // namespace vessel::engine::kvm
