// The KVM and software engines start a Linux guest from the same state: the loader writes the
// same boot_params, command line, page tables, GDT, MP and ACPI tables into guest memory
// whatever the engine, and the initial registers survive each engine's conversion unchanged.
// On a host where KVM is unusable the KVM half is skipped with the reason.
#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

#include "../boot/synthetic_kernels.hpp"
#include "boot/layout.hpp"
#include "boot/linux.hpp"
#include "engine/emu/emu_engine.hpp"
#include "engine/host_probe.hpp"
#include "engine/kvm/kvm_engine.hpp"

namespace vessel {
namespace {

class NullIo : public bus::IoHandler {
 public:
  void pio_read(uint16_t, std::span<uint8_t> d) override { std::memset(d.data(), 0xff, d.size()); }
  void pio_write(uint16_t, std::span<const uint8_t>) override {}
  void mmio_read(uint64_t, std::span<uint8_t> d) override { std::memset(d.data(), 0xff, d.size()); }
  void mmio_write(uint64_t, std::span<const uint8_t>) override {}
};

struct BootedVcpu {
  arch::CpuState state;
  std::vector<uint8_t> low_memory;  // the first MiB: zero page, cmdline, tables, page tables
};

// Loads the synthetic bzImage into fresh memory, hands the entry state to `engine`'s vCPU and
// reads it back.
BootedVcpu boot_on(engine::Engine& engine) {
  auto memory = memory::GuestMemory::create(64 << 20);
  EXPECT_TRUE(memory);
  const auto kernel = boot::synthetic::make_bzimage();
  boot::PlatformInfo platform;
  platform.vcpus = 2;
  auto image =
      boot::load_linux(*memory, boot::BootFiles{kernel, {}, "", "console=ttyS0 quiet"}, platform);
  EXPECT_TRUE(image) << (image ? "" : image.error().message);
  NullIo io;
  auto vm = engine.create_vm(*memory, engine::VmOptions{});
  EXPECT_TRUE(vm) << (vm ? "" : vm.error().message);
  auto vcpu = (*vm)->create_vcpu(0, io);
  EXPECT_TRUE(vcpu);
  EXPECT_TRUE((*vcpu)->set_state(image->entry));
  auto state = (*vcpu)->state();
  EXPECT_TRUE(state);
  BootedVcpu out{*state, std::vector<uint8_t>(1 << 20)};
  EXPECT_TRUE(memory->read(0, out.low_memory));
  // The loader's state is what both engines must reproduce.
  EXPECT_EQ(out.state.rip, image->entry.rip);
  EXPECT_EQ(out.state.gpr, image->entry.gpr);
  return out;
}

void expect_same_segment(const arch::Segment& a, const arch::Segment& b, int index) {
  SCOPED_TRACE(index);
  EXPECT_EQ(a.selector, b.selector);
  EXPECT_EQ(a.base, b.base);
  EXPECT_EQ(a.limit, b.limit);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.s, b.s);
  EXPECT_EQ(a.dpl, b.dpl);
  EXPECT_EQ(a.present, b.present);
  EXPECT_EQ(a.l, b.l);
  EXPECT_EQ(a.db, b.db);
  EXPECT_EQ(a.g, b.g);
}

TEST(BootState, KvmAndEmuStartLinuxFromTheSameState) {
  auto emu_engine = engine::emu::create_engine();
  ASSERT_TRUE(emu_engine);
  const BootedVcpu emu = boot_on(**emu_engine);
  EXPECT_EQ(emu.state.efer & arch::efer::kLMA, arch::efer::kLMA);
  EXPECT_TRUE(emu.state.seg[arch::kCs].l);
  EXPECT_EQ(emu.state.gpr[arch::kRsi], boot::layout::kZeroPage);

  const auto host = engine::probe_host();
  if (!host.kvm_usable) GTEST_SKIP() << "KVM not usable here (" << host.kvm_problem << ")";
  auto kvm_engine = engine::kvm::create_engine();
  ASSERT_TRUE(kvm_engine) << kvm_engine.error().message;
  const BootedVcpu kvm = boot_on(**kvm_engine);

  EXPECT_EQ(kvm.low_memory, emu.low_memory) << "boot_params, tables or page tables differ";
  EXPECT_EQ(kvm.state.gpr, emu.state.gpr);
  EXPECT_EQ(kvm.state.rip, emu.state.rip);
  EXPECT_EQ(kvm.state.rflags, emu.state.rflags);
  for (int i : {arch::kCs, arch::kDs, arch::kEs, arch::kSs, arch::kFs, arch::kGs})
    expect_same_segment(kvm.state.seg[i], emu.state.seg[i], i);
  EXPECT_EQ(kvm.state.gdt.base, emu.state.gdt.base);
  EXPECT_EQ(kvm.state.gdt.limit, emu.state.gdt.limit);
  EXPECT_EQ(kvm.state.cr0, emu.state.cr0);
  EXPECT_EQ(kvm.state.cr3, emu.state.cr3);
  EXPECT_EQ(kvm.state.cr4, emu.state.cr4);
  EXPECT_EQ(kvm.state.efer, emu.state.efer);
}

}  // namespace
}  // namespace vessel
