// The real MachineFactory: builds machine::Machine and exposes it as MachineControl. This is
// the one place where vmm meets the machine module; the controller itself only sees the
// interfaces, so its tests run with a fake.
#pragma once

#include "vmm/machine_control.hpp"

namespace vessel::vmm {

class MachineAdapterFactory final : public MachineFactory {
 public:
  Result<std::unique_ptr<MachineControl>> boot(const config::VmConfig& config) override;
  Result<std::unique_ptr<MachineControl>> restore(const config::SnapshotLoadParams& params,
                                                  const config::VmConfig& config) override;
};

}  // namespace vessel::vmm
