// Unicorn (QEMU's TCG as a library) as a runner: one engine for every case, flat 64-bit mode
// with the case's pages mapped at the same addresses. Unicorn has no privilege levels or IDT:
// it stops before the terminating OUT, and an exception reaches the interrupt hook instead.
#include <unicorn/unicorn.h>

#include <array>
#include <optional>

#include "runners.hpp"

namespace vessel::difftest {
namespace {

constexpr std::array<int, 16> kRegs = {
    UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX, UC_X86_REG_RSP, UC_X86_REG_RBP,
    UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
    UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};

class UnicornRunner final : public Runner {
 public:
  ~UnicornRunner() override {
    if (uc_) uc_close(uc_);
  }
  std::string_view name() const override { return "unicorn"; }

  // A fresh engine: after an exception stops emulation Unicorn 2.0 keeps QEMU's pending
  // exception state (the next exception becomes #DF, the next start may stop at once), so
  // the runner reopens the engine after every faulting case.
  Result<void> init() {
    if (uc_) uc_close(uc_);
    uc_ = nullptr;
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &uc_) != UC_ERR_OK) return fail("uc_open failed");
    // A CPU model with POPCNT and LZCNT, which the software engine's CPUID advertises.
    if (uc_ctl_set_cpu_model(uc_, UC_CPU_X86_HASWELL) != UC_ERR_OK)
      return fail("uc_ctl_set_cpu_model failed");
    for (auto [addr, size] : {std::pair{kCode, kCodeSize}, std::pair{kScratch, kPageSize},
                              std::pair{kStack, kPageSize}})
      if (uc_err e = uc_mem_map(uc_, addr, size, UC_PROT_ALL); e != UC_ERR_OK)
        return fail("uc_mem_map {:#x}: {}", addr, uc_strerror(e));
    uc_hook hook;
    if (uc_hook_add(uc_, &hook, UC_HOOK_INTR, reinterpret_cast<void*>(&on_interrupt), this, 1, 0) !=
        UC_ERR_OK)
      return fail("uc_hook_add failed");
    return {};
  }

  Outcome run(const TestCase& tc) override {
    Outcome o;
    const auto code = terminated_code(tc);
    uc_mem_write(uc_, kCode, code.data(), code.size());
    // Unicorn keeps translated blocks across uc_mem_write: drop those of the code area.
    uc_ctl_remove_cache(uc_, kCode, kCode + kCodeSize);
    uc_mem_write(uc_, kScratch, tc.scratch.data(), tc.scratch.size());
    uc_mem_write(uc_, kStack, tc.stack.data(), tc.stack.size());
    std::array<uint64_t, 16> gpr = tc.gpr;
    gpr[4] = kInitialRsp;
    gpr[kScratchBaseReg] = kScratch;
    for (int i = 0; i < 16; ++i) uc_reg_write(uc_, kRegs[i], &gpr[i]);
    uint64_t fl = tc.rflags | 2;
    uc_reg_write(uc_, UC_X86_REG_RFLAGS, &fl);
    vector_.reset();
    const uint64_t until = done_rip(tc) - 2;  // the OUT of the terminator
    const uc_err e = uc_emu_start(uc_, kCode, until, 0, kMaxInstructions);
    uint64_t rip = 0;
    uc_reg_read(uc_, UC_X86_REG_RIP, &rip);
    struct Reopen {
      UnicornRunner* r;
      bool needed;
      ~Reopen() {
        if (needed) (void)r->init();
      }
    } reopen{this, vector_.has_value() || e != UC_ERR_OK};
    if (e != UC_ERR_OK && !vector_) {
      o.error = fmt::format("unicorn: {} at {:#x}", uc_strerror(e), rip);
      return o;
    }
    if (!vector_ && rip != until) {
      o.error = fmt::format("unicorn: no end within the limit (rip {:#x})", rip);
      return o;
    }
    o.ok = true;
    for (int i = 0; i < 16; ++i) uc_reg_read(uc_, kRegs[i], &o.gpr[i]);
    uc_reg_read(uc_, UC_X86_REG_RFLAGS, &o.rflags);
    o.faulted = vector_.has_value();
    o.vector = vector_.value_or(0);
    o.rip = o.faulted ? rip : done_rip(tc);
    o.scratch.resize(kPageSize);
    o.stack.resize(kPageSize);
    uc_mem_read(uc_, kScratch, o.scratch.data(), kPageSize);
    uc_mem_read(uc_, kStack, o.stack.data(), kPageSize);
    return o;
  }

 private:
  static void on_interrupt(uc_engine* uc, uint32_t intno, void* self) {
    static_cast<UnicornRunner*>(self)->vector_ = static_cast<uint8_t>(intno);
    uc_emu_stop(uc);
  }

  uc_engine* uc_ = nullptr;
  std::optional<uint8_t> vector_;
};

}  // namespace

Result<std::unique_ptr<Runner>> make_unicorn_runner() {
  auto r = std::make_unique<UnicornRunner>();
  VESSEL_TRY_VOID(r->init());
  return std::unique_ptr<Runner>(std::move(r));
}

}  // namespace vessel::difftest
