// `vessel run` in Firecracker's modes: --api-sock PATH serves Firecracker's REST API (the VM
// waits for configuration and InstanceStart, or boots at once with --config-file);
// --config-file FILE [--no-api] boots from Firecracker's JSON config without an API.
// Kept apart from main.cpp so that the CLI's plain `vessel run --kernel ...` path is untouched.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "config/vm_config.hpp"

namespace vessel::app {

struct ApiOptions {
  std::string socket;       // --api-sock
  std::string config_file;  // --config-file
  bool no_api = false;      // --no-api
  std::string id = "anonymous-instance";
  // True when `vessel run` should go through the API/controller path.
  bool wanted() const { return !socket.empty() || !config_file.empty() || no_api; }
};

void add_api_options(CLI::App& run, ApiOptions& options);
// `config` holds what the command line set (engine, console, memory...); a config file
// overrides the parts it names.
int api_run_command(config::VmConfig config, const ApiOptions& options);

}  // namespace vessel::app
