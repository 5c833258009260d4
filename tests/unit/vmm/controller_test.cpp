// The controller's phase rules (Firecracker's pre/post-boot validity), its use of
// MachineControl, and the metrics it writes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "vmm/controller.hpp"
#include "vmm/fake_machine.hpp"

namespace vessel::vmm {
namespace {

config::BootSource kernel() {
  config::BootSource b;
  b.kernel = "/vmlinux";
  return b;
}

std::string error_of(const ActionResult& r) {
  return r ? std::string("(ok)") : r.error().message;
}

InstanceState state_of(Controller& c) {
  auto r = c.handle(GetInstanceInfo{});
  return std::get<InstanceInfo>(*r).state;
}

TEST(Controller, PreBootConfigurationAndStart) {
  FakeFactory factory;
  auto c = Controller::create({}, factory).value();
  EXPECT_EQ(error_of(c->handle(StartInstance{})),
            "Cannot start microvm without kernel configuration.");
  EXPECT_EQ(error_of(c->handle(PauseVm{})), kNotBeforeStart);
  EXPECT_EQ(error_of(c->handle(SendCtrlAltDel{})), kNotBeforeStart);
  EXPECT_TRUE(c->handle(PutBootSource{kernel()}));
  config::MachineConfigPatch patch;
  patch.mem_size_mib = 512;
  EXPECT_TRUE(c->handle(PatchMachineConfig{patch}));
  patch.vcpu_count = 0;
  EXPECT_FALSE(c->handle(PatchMachineConfig{patch}));
  auto m = c->handle(GetMachineConfig{});
  ASSERT_TRUE(m);
  EXPECT_EQ(std::get<config::MachineSpec>(*m).mem_mib, 512u);
  EXPECT_EQ(state_of(*c), InstanceState::kNotStarted);

  ASSERT_TRUE(c->handle(StartInstance{}));
  EXPECT_EQ(state_of(*c), InstanceState::kRunning);
  EXPECT_EQ(factory.log.calls.front(), "boot /vmlinux");
  EXPECT_EQ(error_of(c->handle(PutBootSource{kernel()})), kNotAfterStart);
  EXPECT_EQ(error_of(c->handle(StartInstance{})), kNotAfterStart);
  EXPECT_EQ(error_of(c->handle(PutMachineConfig{config::MachineSpec{}})), kNotAfterStart);
  EXPECT_TRUE(c->handle(GetMachineConfig{}));  // answered in every phase

  c->stop(143, "test");
  for (int i = 0; i < 200 && !c->exit_status(); ++i) usleep(5000);
  EXPECT_EQ(c->exit_status(), 143);
}

TEST(Controller, PauseResumeAndSnapshot) {
  FakeFactory factory;
  auto c = Controller::create({}, factory).value();
  ASSERT_TRUE(c->handle(PutBootSource{kernel()}));
  ASSERT_TRUE(c->handle(StartInstance{}));
  config::SnapshotCreateParams snap{config::SnapshotType::kFull, "/s", "/m"};
  EXPECT_FALSE(c->handle(CreateSnapshot{snap}));  // must be paused
  ASSERT_TRUE(c->handle(PauseVm{}));
  EXPECT_EQ(state_of(*c), InstanceState::kPaused);
  ASSERT_TRUE(c->handle(CreateSnapshot{snap}));
  snap.type = config::SnapshotType::kDiff;
  EXPECT_FALSE(c->handle(CreateSnapshot{snap}));  // no dirty page tracking
  ASSERT_TRUE(c->handle(ResumeVm{}));
  EXPECT_EQ(state_of(*c), InstanceState::kRunning);
  ASSERT_TRUE(c->handle(SendCtrlAltDel{}));
  const std::vector<std::string> expected = {"boot /vmlinux", "pause", "snapshot_create /s",
                                             "resume", "ctrl_alt_del"};
  EXPECT_EQ(factory.log.calls, expected);
}

TEST(Controller, SnapshotLoadRules) {
  FakeFactory factory;
  config::SnapshotLoadParams load;
  load.snapshot_path = "/s";
  load.mem_backend_path = "/m";
  {
    auto c = Controller::create({}, factory).value();
    ASSERT_TRUE(c->handle(PutBootSource{kernel()}));
    EXPECT_FALSE(c->handle(LoadSnapshot{load}));
  }
  auto c = Controller::create({}, factory).value();
  ASSERT_TRUE(c->handle(LoadSnapshot{load}));
  EXPECT_EQ(state_of(*c), InstanceState::kPaused);
  EXPECT_EQ(error_of(c->handle(LoadSnapshot{load})), kNotAfterStart);
  ASSERT_TRUE(c->handle(ResumeVm{}));
  EXPECT_EQ(state_of(*c), InstanceState::kRunning);
}

TEST(Controller, FailedBootStaysPreBoot) {
  FakeFactory factory;
  factory.fail_boot = true;
  auto c = Controller::create({}, factory).value();
  ASSERT_TRUE(c->handle(PutBootSource{kernel()}));
  auto r = c->handle(StartInstance{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot build"), std::string::npos);
  EXPECT_EQ(state_of(*c), InstanceState::kNotStarted);
}

TEST(Controller, MetricsLinesCarryDeltas) {
  char path[] = "/tmp/vessel_metrics_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  FakeFactory factory;
  ControllerOptions options;
  options.metrics_period = std::chrono::hours(1);
  auto c = Controller::create({}, factory, options).value();
  EXPECT_EQ(error_of(c->handle(FlushMetrics{})), "The metrics system is not initialized.");
  ASSERT_TRUE(c->handle(PutMetrics{config::MetricsConfig{path}}));
  EXPECT_FALSE(c->handle(PutMetrics{config::MetricsConfig{path}}));  // once only
  c->handle(PutBootSource{kernel()});
  ASSERT_TRUE(c->handle(FlushMetrics{}));
  ASSERT_TRUE(c->handle(FlushMetrics{}));
  std::ifstream in(path);
  std::string first, second;
  std::getline(in, first);
  std::getline(in, second);
  auto a = nlohmann::json::parse(first);
  auto b = nlohmann::json::parse(second);
  EXPECT_EQ(a["put_api_requests"]["boot_source_count"], 1);
  EXPECT_EQ(a["put_api_requests"]["metrics_count"], 2);
  EXPECT_EQ(a["put_api_requests"]["metrics_fails"], 1);
  EXPECT_TRUE(a.contains("utc_timestamp_ms"));
  EXPECT_EQ(b["put_api_requests"]["boot_source_count"], 0);  // a delta, not a total
  EXPECT_EQ(b["put_api_requests"]["actions_count"], 1);      // the first FlushMetrics
  std::remove(path);
}

TEST(Metrics, MachineFiguresAreDeltas) {
  Metrics m;
  MachineMetrics first{10, 20, 0, 0, 0, 5, 7};
  auto a = nlohmann::json::parse(m.next_line(first, 1));
  EXPECT_EQ(a["vcpu"]["exit_io_in"], 10);
  EXPECT_EQ(a["uart"]["write_count"], 7);
  MachineMetrics later{15, 20, 0, 0, 0, 5, 9};
  auto b = nlohmann::json::parse(m.next_line(later, 2));
  EXPECT_EQ(b["vcpu"]["exit_io_in"], 5);
  EXPECT_EQ(b["uart"]["write_count"], 2);
  EXPECT_EQ(b["utc_timestamp_ms"], 2);
}

}  // namespace
}  // namespace vessel::vmm
