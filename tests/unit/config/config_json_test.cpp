// Firecracker's JSON resources: field names, types, unknown fields, validation rules.
#include <gtest/gtest.h>

#include <fstream>

#include "config/resource_rules.hpp"
#include "config/resources_json.hpp"

namespace vessel::config {
namespace {

Json J(const char* text) {
  return Json::parse(text);
}

TEST(ConfigJson, BootSourceFieldsAndErrors) {
  auto b =
      parse_boot_source(J(R"({"kernel_image_path":"/k","initrd_path":"/i","boot_args":"a=b"})"));
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->kernel, "/k");
  EXPECT_EQ(b->initrd, "/i");
  EXPECT_EQ(b->cmdline, "a=b");
  EXPECT_EQ(to_json(*b), J(R"({"kernel_image_path":"/k","initrd_path":"/i","boot_args":"a=b"})"));

  auto missing = parse_boot_source(J(R"({"boot_args":"x"})"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("missing field `kernel_image_path`"), std::string::npos);
  auto wrong = parse_boot_source(J(R"({"kernel_image_path":7})"));
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("`kernel_image_path`"), std::string::npos);
  auto unknown = parse_boot_source(J(R"({"kernel_image_path":"/k","kernel":"/x"})"));
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("unknown field `kernel`"), std::string::npos);
  EXPECT_FALSE(parse_boot_source(J("[1,2]")));
}

TEST(ConfigJson, MachineConfigRules) {
  auto m =
      parse_machine_config(J(R"({"vcpu_count":2,"mem_size_mib":128,"smt":true,"engine":"emu"})"));
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->vcpus, 2u);
  EXPECT_EQ(m->mem_mib, 128u);
  EXPECT_TRUE(m->smt);
  EXPECT_EQ(m->engine, EngineKind::kEmu);
  EXPECT_EQ(to_json(*m)["engine"], "emu");

  EXPECT_FALSE(parse_machine_config(J(R"({"vcpu_count":3,"mem_size_mib":128,"smt":true})")));
  EXPECT_FALSE(parse_machine_config(J(R"({"vcpu_count":0,"mem_size_mib":128})")));
  EXPECT_FALSE(parse_machine_config(J(R"({"vcpu_count":1.5,"mem_size_mib":128})")));
  EXPECT_FALSE(parse_machine_config(J(R"({"vcpu_count":-1,"mem_size_mib":128})")));
  EXPECT_FALSE(parse_machine_config(J(R"({"vcpu_count":1})")));
  EXPECT_FALSE(parse_machine_config(J(R"({"vcpu_count":1,"mem_size_mib":0})")));
  EXPECT_FALSE(parse_machine_config(J(R"({"vcpu_count":1,"mem_size_mib":8,"engine":"xen"})")));
  EXPECT_FALSE(parse_machine_config(J(R"({"vcpu_count":1,"mem_size_mib":8,"cpu_template":"T2"})")));
  EXPECT_TRUE(
      parse_machine_config(J(R"({"vcpu_count":1,"mem_size_mib":8,"cpu_template":"None"})")));

  auto empty = parse_machine_config_patch(J("{}"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().message, "Empty PATCH request.");
  auto patch = parse_machine_config_patch(J(R"({"mem_size_mib":512})"));
  ASSERT_TRUE(patch);
  MachineSpec patched = apply_patch(MachineSpec{}, *patch);
  EXPECT_EQ(patched.mem_mib, 512u);
  EXPECT_EQ(patched.vcpus, 1u);
}

TEST(ConfigJson, DrivesAndRootDevice) {
  auto d = parse_drive(J(
      R"({"drive_id":"rootfs","path_on_host":"/r.ext4","is_root_device":true,"is_read_only":true})"));
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_TRUE(d->is_read_only);
  EXPECT_FALSE(parse_drive(J(R"({"drive_id":"a-b","path_on_host":"/x","is_root_device":false})")));
  EXPECT_FALSE(parse_drive(J(R"({"drive_id":"a","path_on_host":"/x"})")));  // is_root_device
  EXPECT_FALSE(parse_drive(J(R"({"drive_id":"a","path_on_host":"/x","is_root_device":"yes"})")));
  EXPECT_FALSE(parse_drive(
      J(R"({"drive_id":"a","path_on_host":"/x","is_root_device":false,"cache_type":"Fast"})")));

  VmConfig c;
  ASSERT_TRUE(upsert_drive(c, *d));
  Drive data{"data", "/d", false};
  ASSERT_TRUE(upsert_drive(c, data));
  Drive second_root{"other", "/o", true};
  auto refused = upsert_drive(c, second_root);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message, "A root block device already exists!");
  // Replacing the root drive by id is allowed, and the root stays first.
  Drive replaced{"rootfs", "/new", true};
  ASSERT_TRUE(upsert_drive(c, replaced));
  ASSERT_EQ(c.drives.size(), 2u);
  EXPECT_EQ(c.drives[0].path_on_host, "/new");
  ASSERT_TRUE(patch_drive(c, DrivePatch{"data", "/d2", std::nullopt}));
  EXPECT_EQ(c.drives[1].path_on_host, "/d2");
  EXPECT_FALSE(patch_drive(c, DrivePatch{"nope", "/x", std::nullopt}));
}

TEST(ConfigJson, NetworkInterfaces) {
  auto n = parse_network_interface(
      J(R"({"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"06:00:AC:10:00:02"})"));
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_FALSE(parse_network_interface(
      J(R"({"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"06:00:AC:10:00"})")));
  EXPECT_FALSE(parse_network_interface(
      J(R"({"iface_id":"eth0","host_dev_name":"tap0","guest_mac":"zz:00:AC:10:00:02"})")));
  EXPECT_FALSE(parse_network_interface(J(R"({"iface_id":"eth0"})")));
  VmConfig c;
  ASSERT_TRUE(upsert_network_interface(c, *n));
  NetworkInterface same_tap{"eth1", "tap0", std::nullopt};
  EXPECT_FALSE(upsert_network_interface(c, same_tap));
  NetworkInterface same_mac{"eth1", "tap1", std::string("06:00:ac:10:00:02")};
  EXPECT_FALSE(upsert_network_interface(c, same_mac));
}

TEST(ConfigJson, LoggerMetricsEntropySnapshot) {
  auto l = parse_logger(J(R"({"log_path":"/tmp/l","level":"debug","show_level":true})"));
  ASSERT_TRUE(l);
  EXPECT_EQ(l->level, "Debug");
  EXPECT_FALSE(parse_logger(J(R"({"level":"Loud"})")));
  EXPECT_FALSE(parse_metrics(J(R"({})")));
  EXPECT_TRUE(parse_metrics(J(R"({"metrics_path":"/m"})")));
  EXPECT_TRUE(parse_entropy(J(R"({"rate_limiter":{"bandwidth":{"size":1,"refill_time":100}}})")));
  EXPECT_FALSE(parse_entropy(J(R"({"rate_limiter":3})")));

  auto create = parse_snapshot_create(
      J(R"({"snapshot_path":"/s","mem_file_path":"/m","snapshot_type":"Diff"})"));
  ASSERT_TRUE(create);
  EXPECT_EQ(create->type, SnapshotType::kDiff);
  auto load = parse_snapshot_load(J(
      R"({"snapshot_path":"/s","mem_backend":{"backend_path":"/m","backend_type":"File"},"resume_vm":true})"));
  ASSERT_TRUE(load) << load.error().message;
  EXPECT_EQ(load->mem_backend_path, "/m");
  EXPECT_TRUE(load->resume_vm);
  EXPECT_FALSE(parse_snapshot_load(J(R"({"snapshot_path":"/s"})")));
  EXPECT_FALSE(parse_snapshot_load(J(
      R"({"snapshot_path":"/s","mem_file_path":"/m","mem_backend":{"backend_path":"/m","backend_type":"File"}})")));
}

TEST(ConfigJson, ConfigFile) {
  const char* text = R"({
    "boot-source": {"kernel_image_path": "/vmlinux", "boot_args": "console=ttyS0"},
    "drives": [{"drive_id": "rootfs", "path_on_host": "/rootfs.ext4", "is_root_device": true, "is_read_only": false}],
    "machine-config": {"vcpu_count": 2, "mem_size_mib": 1024},
    "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0"}],
    "logger": {"level": "Info"},
    "metrics": {"metrics_path": "/tmp/metrics"}
  })";
  VmConfig base;
  base.machine.engine = EngineKind::kEmu;
  auto c = parse_config_file(J(text), base);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->boot.kernel, "/vmlinux");
  EXPECT_EQ(c->machine.vcpus, 2u);
  EXPECT_EQ(c->machine.engine, EngineKind::kEmu);  // the command line's engine stays
  ASSERT_EQ(c->drives.size(), 1u);
  ASSERT_EQ(c->network_interfaces.size(), 1u);
  ASSERT_TRUE(c->metrics);
  // Round trip through the same layout.
  auto again = parse_config_file(to_json(*c));
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->drives[0].path_on_host, "/rootfs.ext4");

  auto bad = parse_config_file(J(
      R"({"boot-source":{"kernel_image_path":"/k"},"drives":[{"drive_id":"a","path_on_host":"/x","is_root_device":1}]})"));
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("drives[0]"), std::string::npos);
  auto vsock = parse_config_file(J(R"({"boot-source":{"kernel_image_path":"/k"},"vsock":{}})"));
  ASSERT_FALSE(vsock);
  EXPECT_NE(vsock.error().message.find("vsock"), std::string::npos);
  EXPECT_FALSE(parse_config_file(J(R"({"boot-source":{"kernel_image_path":"/k"},"extra":{}})")));
  EXPECT_FALSE(load_config_file("/nonexistent/vm.json"));
}

TEST(ConfigJson, SyntaxErrorsAreValues) {
  EXPECT_FALSE(parse_json("{"));
  EXPECT_FALSE(parse_json("{\"a\":}"));
  EXPECT_FALSE(parse_json(""));
  EXPECT_FALSE(parse_json("\xff\xfe"));
  std::string deep(20000, '[');
  EXPECT_FALSE(parse_json(deep));
}

}  // namespace
}  // namespace vessel::config
