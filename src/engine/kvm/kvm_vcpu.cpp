#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "arch/x86/cpu_state.hpp"
#include "base/log.hpp"
#include "engine/kvm/kvm_internal.hpp"
#include "engine/kvm/kvm_state.hpp"

namespace vessel::engine::kvm {
namespace {

// kick() interrupts KVM_RUN with this signal; its handler does nothing, the EINTR is the point.
int kick_signal() {
  return SIGRTMIN;
}

void install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: KVM_RUN must return EINTR
    sigaction(kick_signal(), &sa, nullptr);
  });
}

// MSRs carried in CpuState beyond those in kvm_sregs.
struct MsrField {
  uint32_t index;
  uint64_t arch::CpuState::*field;
};
constexpr MsrField kMsrFields[] = {
    {arch::msr::kStar, &arch::CpuState::star},
    {arch::msr::kLstar, &arch::CpuState::lstar},
    {arch::msr::kCstar, &arch::CpuState::cstar},
    {arch::msr::kSfmask, &arch::CpuState::sfmask},
    {arch::msr::kKernelGsBase, &arch::CpuState::kernel_gs_base},
    {arch::msr::kSysenterCs, &arch::CpuState::sysenter_cs},
    {arch::msr::kSysenterEsp, &arch::CpuState::sysenter_esp},
    {arch::msr::kSysenterEip, &arch::CpuState::sysenter_eip},
    {arch::msr::kPat, &arch::CpuState::pat},
    {arch::msr::kTscAux, &arch::CpuState::tsc_aux},
};

class KvmVcpu final : public Vcpu {
 public:
  KvmVcpu(std::shared_ptr<const KvmSystem> sys, UniqueFd fd, kvm_run* run, unsigned index,
          bus::IoHandler& io)
      : sys_(std::move(sys)), fd_(std::move(fd)), run_(run), index_(index), io_(io) {}
  ~KvmVcpu() override { ::munmap(run_, sys_->vcpu_mmap_size); }

  Result<arch::CpuState> state() override;
  Result<void> set_state(const arch::CpuState& state) override;
  Result<VcpuExit> run() override;
  void kick() override;

  Result<void> set_cpuid();

 private:
  void handle_io();
  void handle_mmio();
  std::vector<uint32_t> saved_msrs() const;
  std::string internal_error_detail() const;

  std::shared_ptr<const KvmSystem> sys_;
  UniqueFd fd_;
  kvm_run* run_;
  unsigned index_;
  bus::IoHandler& io_;
  std::atomic<pthread_t> thread_{};
  std::atomic<bool> running_{false};
};

std::vector<uint32_t> KvmVcpu::saved_msrs() const {
  std::vector<uint32_t> out;
  for (const MsrField& m : kMsrFields)
    for (uint32_t supported : sys_->msr_index_list)
      if (supported == m.index) out.push_back(m.index);
  return out;
}

Result<void> KvmVcpu::set_cpuid() {
  const auto& supported = sys_->supported_cpuid;
  abi::Cpuid cpuid(supported.size());
  cpuid.header()->nent = static_cast<uint32_t>(supported.size());
  for (size_t i = 0; i < supported.size(); ++i) {
    kvm_cpuid_entry2 e = supported[i];
    if (e.function == 1) e.ebx = (e.ebx & 0x00ffffff) | (index_ << 24);  // initial APIC ID
    if (e.function == 0xb || e.function == 0x1f) e.edx = index_;         // x2APIC ID
    cpuid.entries()[i] = e;
  }
  if (xioctl(fd_.get(), abi::kSetCpuid2, cpuid.data()) != 0)
    return fail("KVM_SET_CPUID2: {}", std::strerror(errno));
  return {};
}

Result<arch::CpuState> KvmVcpu::state() {
  kvm_regs regs{};
  kvm_sregs sregs{};
  kvm_fpu fpu{};
  if (xioctl(fd_.get(), KVM_GET_REGS, &regs) != 0)
    return fail("KVM_GET_REGS: {}", std::strerror(errno));
  if (xioctl(fd_.get(), KVM_GET_SREGS, &sregs) != 0)
    return fail("KVM_GET_SREGS: {}", std::strerror(errno));
  if (xioctl(fd_.get(), KVM_GET_FPU, &fpu) != 0)
    return fail("KVM_GET_FPU: {}", std::strerror(errno));
  arch::CpuState s;
  from_kvm(regs, sregs, fpu, s);

  const auto msrs = saved_msrs();
  abi::Msrs list(msrs.size());
  list.header()->nmsrs = static_cast<uint32_t>(msrs.size());
  for (size_t i = 0; i < msrs.size(); ++i) list.entries()[i] = kvm_msr_entry{msrs[i], 0, 0};
  if (xioctl(fd_.get(), abi::kGetMsrs, list.data()) == static_cast<int>(msrs.size())) {
    for (size_t i = 0; i < msrs.size(); ++i)
      for (const MsrField& m : kMsrFields)
        if (m.index == msrs[i]) s.*m.field = list.entries()[i].data;
  }

  kvm_vcpu_events events{};
  if (xioctl(fd_.get(), KVM_GET_VCPU_EVENTS, &events) == 0) {
    s.events.interrupt_pending = events.interrupt.injected;
    s.events.interrupt_vector = events.interrupt.nr;
    s.events.nmi_pending = events.nmi.pending || events.nmi.injected;
    s.events.interrupt_shadow = events.interrupt.shadow != 0;
  }
  s.events.halted = run_->exit_reason == KVM_EXIT_HLT;
  return s;
}

Result<void> KvmVcpu::set_state(const arch::CpuState& s) {
  kvm_regs regs{};
  kvm_sregs sregs{};
  kvm_fpu fpu{};
  to_kvm(s, regs, sregs, fpu);
  if (xioctl(fd_.get(), KVM_SET_SREGS, &sregs) != 0)
    return fail("KVM_SET_SREGS: {}", std::strerror(errno));
  if (xioctl(fd_.get(), KVM_SET_REGS, &regs) != 0)
    return fail("KVM_SET_REGS: {}", std::strerror(errno));
  if (xioctl(fd_.get(), KVM_SET_FPU, &fpu) != 0)
    return fail("KVM_SET_FPU: {}", std::strerror(errno));

  const auto msrs = saved_msrs();
  abi::Msrs list(msrs.size());
  list.header()->nmsrs = static_cast<uint32_t>(msrs.size());
  for (size_t i = 0; i < msrs.size(); ++i) {
    list.entries()[i] = kvm_msr_entry{msrs[i], 0, 0};
    for (const MsrField& m : kMsrFields)
      if (m.index == msrs[i]) list.entries()[i].data = s.*m.field;
  }
  if (xioctl(fd_.get(), abi::kSetMsrs, list.data()) != static_cast<int>(msrs.size()))
    return fail("KVM_SET_MSRS: could not set all {} MSRs", msrs.size());
  return {};
}

void KvmVcpu::handle_io() {
  auto& io = run_->io;
  uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;
  // A string instruction (REP INS/OUTS) arrives as `count` accesses of `size` bytes each.
  for (uint32_t i = 0; i < io.count; ++i, data += io.size) {
    if (io.direction == KVM_EXIT_IO_OUT)
      io_.pio_write(io.port, std::span<const uint8_t>(data, io.size));
    else
      io_.pio_read(io.port, std::span<uint8_t>(data, io.size));
  }
}

void KvmVcpu::handle_mmio() {
  auto& mmio = run_->mmio;
  const uint32_t len = std::min<uint32_t>(mmio.len, sizeof mmio.data);
  if (mmio.is_write)
    io_.mmio_write(mmio.phys_addr, std::span<const uint8_t>(mmio.data, len));
  else
    io_.mmio_read(mmio.phys_addr, std::span<uint8_t>(mmio.data, len));
}

std::string KvmVcpu::internal_error_detail() const {
  const auto& e = run_->internal;
  switch (e.suberror) {
    case KVM_INTERNAL_ERROR_EMULATION: {
      std::string detail = "KVM could not emulate an instruction";
      // With the flag, data[0..1] hold flags, data[2] the length, data[3..] the bytes.
      if (e.ndata >= 3 && (e.data[0] & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
        const auto* bytes = reinterpret_cast<const uint8_t*>(&e.data[3]);
        const uint64_t n = std::min<uint64_t>(e.data[2], 15);
        detail += " (bytes";
        for (uint64_t i = 0; i < n; ++i) detail += fmt::format(" {:02x}", bytes[i]);
        detail += ")";
      }
      return detail;
    }
    case KVM_INTERNAL_ERROR_SIMUL_EX:
      return "KVM internal error: exception during exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV:
      return "KVM internal error: event delivery failed";
    default:
      return fmt::format("KVM internal error, suberror {}", e.suberror);
  }
}

Result<VcpuExit> KvmVcpu::run() {
  thread_.store(pthread_self());
  running_.store(true);
  sigset_t kick{};
  sigemptyset(&kick);
  sigaddset(&kick, kick_signal());
  pthread_sigmask(SIG_UNBLOCK, &kick, nullptr);

  for (;;) {
    if (xioctl(fd_.get(), KVM_RUN, 0ul) != 0) {
      if (errno == EINTR || errno == EAGAIN) {
        // Cleared before the machine looks at why it was kicked, so no kick is lost.
        run_->immediate_exit = 0;
        return VcpuExit{ExitKind::kInterrupted, {}};
      }
      return fail("KVM_RUN: {}", std::strerror(errno));
    }
    switch (run_->exit_reason) {
      case KVM_EXIT_IO:
        handle_io();
        break;
      case KVM_EXIT_MMIO:
        handle_mmio();
        break;
      case KVM_EXIT_HLT:
        return VcpuExit{ExitKind::kHalt, {}};
      case KVM_EXIT_SHUTDOWN:
        return VcpuExit{ExitKind::kShutdown, "triple fault"};
      case KVM_EXIT_INTR:
        run_->immediate_exit = 0;
        return VcpuExit{ExitKind::kInterrupted, {}};
      case KVM_EXIT_FAIL_ENTRY:
        return VcpuExit{ExitKind::kError,
                        fmt::format("VM entry failed (hardware reason {:#x})",
                                    run_->fail_entry.hardware_entry_failure_reason)};
      case KVM_EXIT_INTERNAL_ERROR:
        return VcpuExit{ExitKind::kError, internal_error_detail()};
      case KVM_EXIT_SYSTEM_EVENT:
        if (run_->system_event.type == KVM_SYSTEM_EVENT_RESET)
          return VcpuExit{ExitKind::kReset, "reset requested"};
        return VcpuExit{ExitKind::kShutdown, "system event"};
      default:
        return VcpuExit{ExitKind::kError,
                        fmt::format("unexpected KVM exit reason {}", run_->exit_reason)};
    }
  }
}

void KvmVcpu::kick() {
  // immediate_exit covers a vCPU between two KVM_RUNs; the signal one inside KVM_RUN.
  __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_SEQ_CST);
  if (running_.load()) pthread_kill(thread_.load(), kick_signal());
}

}  // namespace

Result<std::unique_ptr<Vcpu>> create_kvm_vcpu(std::shared_ptr<const KvmSystem> sys, int vm_fd,
                                              unsigned index, bus::IoHandler& io) {
  install_kick_handler();
  UniqueFd fd(xioctl(vm_fd, KVM_CREATE_VCPU, static_cast<unsigned long>(index)));
  if (!fd.valid()) return fail("KVM_CREATE_VCPU {}: {}", index, std::strerror(errno));
  void* run = ::mmap(nullptr, sys->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  if (run == MAP_FAILED) return fail("mmap of vCPU {} run area: {}", index, std::strerror(errno));
  auto vcpu = std::make_unique<KvmVcpu>(std::move(sys), std::move(fd), static_cast<kvm_run*>(run),
                                        index, io);
  VESSEL_TRY_VOID(vcpu->set_cpuid());
  return std::unique_ptr<Vcpu>(std::move(vcpu));
}

}  // namespace vessel::engine::kvm
