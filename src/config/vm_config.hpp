// VmConfig: one validated description of a VM, whatever it came from (command line today,
// the API and a config file later). Validation here is about the description alone; whether
// the host can provide it (files readable, memory available) is checked when the machine is
// built.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <vector>

#include "base/result.hpp"
#include "config/devices.hpp"

namespace vessel::config {

enum class EngineKind { kAuto, kKvm, kEmu };
std::string_view to_string(EngineKind kind);
Result<EngineKind> parse_engine_kind(std::string_view text);

struct BootSource {
  std::string kernel;                    // path; empty means the default guest
  std::string initrd;                    // path or empty
  std::string cmdline;                   // kernel command line (Linux only)
  std::optional<uint64_t> load_address;  // flat binaries: where to load and start
};

// Where the machine puts its virtio devices: on the PCI bus, or on virtio-mmio transports
// (announced on the kernel command line and in the DSDT; what Firecracker's guests expect).
enum class VirtioTransport { kPci, kMmio };
Result<VirtioTransport> parse_virtio_transport(std::string_view text);

struct MachineSpec {
  unsigned vcpus = 1;
  uint64_t mem_mib = 256;
  EngineKind engine = EngineKind::kAuto;
  bool smt = false;                // Firecracker's machine-config `smt`
  bool track_dirty_pages = false;  // for diff snapshots
  bool restart_on_reset = false;   // a guest reboot restarts the VM instead of ending it
  VirtioTransport virtio_transport = VirtioTransport::kPci;
};

struct ConsoleSpec {
  enum class Kind { kStdio, kFile, kNone };
  Kind kind = Kind::kStdio;
  std::string path;  // for kFile
  // The guest device that owns the host console's input: the COM1 UART (ttyS0) or
  // virtio-console (hvc0). Both devices always write their output to it.
  enum class Device { kSerial, kVirtio };
  Device device = Device::kSerial;
};
Result<ConsoleSpec::Device> parse_console_device(std::string_view text);

struct VmConfig {
  BootSource boot;
  MachineSpec machine;
  ConsoleSpec console;
  // Firecracker's other resources (config file or API). Drives and interfaces are described
  // here even where the machine does not build the device yet.
  std::vector<Drive> drives;
  std::vector<NetworkInterface> network_interfaces;
  std::optional<LoggerConfig> logger;
  std::optional<MetricsConfig> metrics;
  std::optional<EntropyConfig> entropy;
};

inline constexpr uint64_t kMinMemMib = 2;
inline constexpr unsigned kMaxVcpus = 32;

Result<void> validate(const VmConfig& config);

// Parses a console option: "stdio", "none" or "file:PATH".
Result<ConsoleSpec> parse_console(std::string_view text);

}  // namespace vessel::config
