#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "engine/kvm/kvm_engine.hpp"
#include "engine/kvm/kvm_internal.hpp"

namespace vessel::engine::kvm {

int xioctl(int fd, unsigned long request, unsigned long arg) {
  return ::ioctl(fd, request, arg);
}

namespace {

// What the engine cannot work without (Documentation/virt/kvm/api.rst, "capabilities").
struct RequiredCap {
  int cap;
  const char* name;
};
constexpr RequiredCap kRequiredCaps[] = {
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
};

Result<std::vector<kvm_cpuid_entry2>> supported_cpuid(int kvm) {
  for (uint32_t n = 64; n <= 256; n *= 2) {  // KVM_MAX_CPUID_ENTRIES is 256
    abi::Cpuid cpuid(n);
    cpuid.header()->nent = n;
    if (xioctl(kvm, abi::kGetSupportedCpuid, cpuid.data()) == 0)
      return std::vector<kvm_cpuid_entry2>(cpuid.entries(), cpuid.entries() + cpuid.header()->nent);
    if (errno != E2BIG) return fail("KVM_GET_SUPPORTED_CPUID: {}", std::strerror(errno));
  }
  return fail("KVM_GET_SUPPORTED_CPUID: too many entries");
}

std::vector<uint32_t> msr_index_list(int kvm) {
  abi::MsrListHeader probe{};
  xioctl(kvm, abi::kGetMsrIndexList, &probe);  // fails with E2BIG and sets nmsrs
  abi::MsrList list(probe.nmsrs);
  list.header()->nmsrs = probe.nmsrs;
  if (xioctl(kvm, abi::kGetMsrIndexList, list.data()) != 0) return {};
  return std::vector<uint32_t>(list.entries(), list.entries() + list.header()->nmsrs);
}

class KvmEngine final : public Engine {
 public:
  explicit KvmEngine(std::shared_ptr<const KvmSystem> sys) : sys_(std::move(sys)) {}
  std::string_view name() const override { return "kvm"; }
  Result<std::unique_ptr<Vm>> create_vm(const memory::GuestMemory& memory,
                                        const VmOptions& options) override {
    auto vm = VESSEL_TRY(KvmVm::create(sys_, memory, options));
    return std::unique_ptr<Vm>(std::move(vm));
  }

 private:
  std::shared_ptr<const KvmSystem> sys_;
};

}  // namespace

Result<std::unique_ptr<Engine>> create_engine() {
  auto sys = std::make_shared<KvmSystem>();
  sys->kvm = UniqueFd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!sys->kvm.valid()) return fail("cannot open /dev/kvm: {}", std::strerror(errno));
  const int kvm = sys->kvm.get();
  const int version = xioctl(kvm, KVM_GET_API_VERSION, 0ul);
  if (version != KVM_API_VERSION)
    return fail("/dev/kvm speaks API version {}, vessel needs {}", version, KVM_API_VERSION);
  for (const RequiredCap& c : kRequiredCaps)
    if (xioctl(kvm, KVM_CHECK_EXTENSION, static_cast<unsigned long>(c.cap)) <= 0)
      return fail("this KVM lacks {}, which vessel needs", c.name);
  sys->vcpu_mmap_size = xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0ul);
  if (sys->vcpu_mmap_size < static_cast<int>(sizeof(kvm_run)))
    return fail("KVM_GET_VCPU_MMAP_SIZE: {}", std::strerror(errno));
  sys->supported_cpuid = VESSEL_TRY(supported_cpuid(kvm));
  sys->msr_index_list = msr_index_list(kvm);
  return std::unique_ptr<Engine>(new KvmEngine(std::move(sys)));
}

}  // namespace vessel::engine::kvm
