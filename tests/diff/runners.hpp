// The three ways of running a TestCase: the software engine (emu::Cpu), Unicorn (QEMU's TCG
// as a library) and this machine's CPU through KVM with the sequence in guest ring 3. Each
// runner is made once and reused for many cases (a KVM VM and vCPU cost milliseconds to make;
// under PVM every ring-0 instruction costs microseconds, so the ring-0 path is one OUT).
#pragma once

#include <memory>
#include <string_view>

#include "base/result.hpp"
#include "engine/emu/exec_mode.hpp"
#include "test_case.hpp"

namespace vessel::difftest {

class Runner {
 public:
  virtual ~Runner() = default;
  virtual std::string_view name() const = 0;
  virtual Outcome run(const TestCase& tc) = 0;
};

// The software engine's interpreter, or its translator (every block translated on its first run).
Result<std::unique_ptr<Runner>> make_emu_runner(
    engine::emu::ExecMode mode = engine::emu::ExecMode::kInterp);
Result<std::unique_ptr<Runner>> make_unicorn_runner();
// Fails (with the reason) when /dev/kvm is missing or unusable.
Result<std::unique_ptr<Runner>> make_kvm_runner();

// Instructions a case may retire before it counts as a hang.
inline constexpr uint64_t kMaxInstructions = 100000;

}  // namespace vessel::difftest
