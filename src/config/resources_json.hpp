// JSON readers and writers for each Firecracker resource, with Firecracker's field names.
// Readers are strict (wrong type, missing or unknown field → an error naming the field) and
// validate values (ids, MAC addresses, enumerations); `what` names the object in messages.
// Each pair is implemented in the resource's own file: boot_source.cpp, drive.cpp, ...
#pragma once

#include <string>

#include "config/json_object.hpp"
#include "config/updates.hpp"
#include "config/vm_config.hpp"

namespace vessel::config {

// Firecracker's resource ids: non-empty, ASCII letters, digits and '_'.
Result<void> check_resource_id(std::string_view id);

Result<BootSource> parse_boot_source(const Json& j, const std::string& what = "boot-source");
Json to_json(const BootSource& boot);

Result<MachineSpec> parse_machine_config(const Json& j, const std::string& what = "machine-config");
Result<MachineConfigPatch> parse_machine_config_patch(const Json& j);
Json to_json(const MachineSpec& machine);

Result<Drive> parse_drive(const Json& j, const std::string& what = "drive");
Result<DrivePatch> parse_drive_patch(const Json& j);
Json to_json(const Drive& drive);

Result<NetworkInterface> parse_network_interface(const Json& j,
                                                 const std::string& what = "network-interface");
Result<NetworkInterfacePatch> parse_network_interface_patch(const Json& j);
Json to_json(const NetworkInterface& iface);
Result<void> check_mac_address(std::string_view mac);

Result<LoggerConfig> parse_logger(const Json& j, const std::string& what = "logger");
Json to_json(const LoggerConfig& logger);

Result<MetricsConfig> parse_metrics(const Json& j, const std::string& what = "metrics");
Json to_json(const MetricsConfig& metrics);

Result<EntropyConfig> parse_entropy(const Json& j, const std::string& what = "entropy");
Json to_json(const EntropyConfig& entropy);

Result<SnapshotCreateParams> parse_snapshot_create(const Json& j);
Result<SnapshotLoadParams> parse_snapshot_load(const Json& j);

// Firecracker's --config-file schema: {"boot-source": ..., "drives": [...], ...}.
Result<VmConfig> parse_config_file(const Json& j, VmConfig base = {});
Result<VmConfig> load_config_file(const std::string& path, VmConfig base = {});
// The same layout back (GET /vm/config).
Json to_json(const VmConfig& config);

// A kept rate limiter: JSON text in, JSON value out.
std::optional<std::string> keep_json(const std::optional<Json>& value);
Json restore_json(const std::string& text);

}  // namespace vessel::config
