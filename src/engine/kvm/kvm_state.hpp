// Conversions between the engine-neutral CpuState and KVM's register structures.
#pragma once

#include <linux/kvm.h>

#include "arch/x86/cpu_state.hpp"

namespace vessel::engine::kvm {

void to_kvm(const arch::CpuState& s, kvm_regs& regs, kvm_sregs& sregs, kvm_fpu& fpu);
void from_kvm(const kvm_regs& regs, const kvm_sregs& sregs, const kvm_fpu& fpu, arch::CpuState& s);

}  // namespace vessel::engine::kvm
