// A MachineControl/MachineFactory fake for controller and API tests: run() blocks until
// stop(), and every call is recorded.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "vmm/machine_control.hpp"

namespace vessel::vmm {

struct FakeLog {
  std::mutex mutex;
  std::vector<std::string> calls;
  void add(std::string c) {
    std::lock_guard lock(mutex);
    calls.push_back(std::move(c));
  }
};

class FakeMachine final : public MachineControl {
 public:
  explicit FakeMachine(FakeLog& log) : log_(log) {}
  Result<int> run() override {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return stopped_; });
    return status_;
  }
  void stop(int status, std::string) override {
    std::lock_guard lock(mutex_);
    if (!stopped_) status_ = status;
    stopped_ = true;
    cv_.notify_all();
  }
  Result<void> pause() override { return record("pause"); }
  Result<void> resume() override { return record("resume"); }
  Result<void> snapshot_create(const config::SnapshotCreateParams& p) override {
    return record("snapshot_create " + p.snapshot_path);
  }
  Result<void> send_ctrl_alt_del() override { return record("ctrl_alt_del"); }
  MachineMetrics metrics() const override { return MachineMetrics{1, 2, 3, 4, 0, 5, 6}; }

 private:
  Result<void> record(std::string c) {
    log_.add(std::move(c));
    return {};
  }
  FakeLog& log_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopped_ = false;
  int status_ = 0;
};

class FakeFactory final : public MachineFactory {
 public:
  Result<std::unique_ptr<MachineControl>> boot(const config::VmConfig& c) override {
    log.add("boot " + c.boot.kernel);
    if (fail_boot) return fail("cannot build");
    return std::unique_ptr<MachineControl>(std::make_unique<FakeMachine>(log));
  }
  Result<std::unique_ptr<MachineControl>> restore(const config::SnapshotLoadParams& p,
                                                  const config::VmConfig&) override {
    log.add("restore " + p.snapshot_path);
    return std::unique_ptr<MachineControl>(std::make_unique<FakeMachine>(log));
  }
  FakeLog log;
  bool fail_boot = false;
};

}  // namespace vessel::vmm
