// A VmControl for device tests: records what devices asked for.
#pragma once

#include <string>
#include <vector>

#include "bus/vm_control.hpp"

namespace vessel::test {

class FakeVmControl final : public bus::VmControl {
 public:
  void request_exit(int status, std::string reason) override {
    exits.push_back({status, std::move(reason)});
  }
  void request_reset(std::string reason) override { resets.push_back(std::move(reason)); }

  std::vector<std::pair<int, std::string>> exits;
  std::vector<std::string> resets;
};

}  // namespace vessel::test
