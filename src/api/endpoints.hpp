// One parser per endpoint (one file each: boot_source_endpoint.cpp, drives_endpoint.cpp, ...):
// each turns a request body, and the id from the path where there is one, into exactly one
// VmmAction, or an error the router answers with 400 {"fault_message": ...}. No endpoint
// touches VMM state: the controller applies the action and decides phase rules.
#pragma once

#include <optional>
#include <string_view>

#include "base/result.hpp"
#include "config/json_object.hpp"
#include "vmm/action.hpp"

namespace vessel::api {

using vmm::VmmAction;

// Parses a body as JSON; errors carry Firecracker's deserialisation prefix.
Result<config::Json> parse_body(std::string_view body);
// Prefixes a body error the way Firecracker reports serde errors.
std::unexpected<Error> body_error(const Error& e);
// The id in the path must be a valid id and equal to the one in the body.
Result<void> check_path_id(std::optional<std::string_view> path_id, const std::string& body_id);

Result<VmmAction> parse_get_instance_info();
Result<VmmAction> parse_get_version();
Result<VmmAction> parse_put_boot_source(std::string_view body);
Result<VmmAction> parse_put_drive(std::optional<std::string_view> id, std::string_view body);
Result<VmmAction> parse_patch_drive(std::optional<std::string_view> id, std::string_view body);
Result<VmmAction> parse_put_network_interface(std::optional<std::string_view> id,
                                              std::string_view body);
Result<VmmAction> parse_patch_network_interface(std::optional<std::string_view> id,
                                                std::string_view body);
Result<VmmAction> parse_get_machine_config();
Result<VmmAction> parse_put_machine_config(std::string_view body);
Result<VmmAction> parse_patch_machine_config(std::string_view body);
Result<VmmAction> parse_put_actions(std::string_view body);
Result<VmmAction> parse_put_logger(std::string_view body);
Result<VmmAction> parse_put_metrics(std::string_view body);
Result<VmmAction> parse_get_vm_config();
Result<VmmAction> parse_patch_vm(std::string_view body);
// `what` is the segment after /snapshot/: "create" or "load".
Result<VmmAction> parse_put_snapshot(std::optional<std::string_view> what, std::string_view body);
Result<VmmAction> parse_put_entropy(std::string_view body);

}  // namespace vessel::api
