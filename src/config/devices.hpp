// The plain descriptions of Firecracker's device-like resources (drives, network interfaces,
// entropy) and of the logger and metrics outputs, as they sit inside a VmConfig. Their JSON
// readers and writers live in one file per resource (drive.cpp, network_interface.cpp, ...),
// declared in resources_json.hpp, so that this header stays free of the JSON library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vessel::config {

// Firecracker's `Drive` (swagger definition of the same name).
struct Drive {
  std::string drive_id;
  std::string path_on_host;
  bool is_root_device = false;
  bool is_read_only = false;
  std::optional<std::string> partuuid;
  std::string cache_type = "Unsafe";        // "Unsafe" | "Writeback"
  std::string io_engine = "Sync";           // "Sync" | "Async"
  std::optional<std::string> rate_limiter;  // JSON text: accepted and kept, not enforced yet
};

// A host port the user-mode network forwards to the guest (vessel extension).
struct HostForward {
  bool udp = false;
  uint16_t host_port = 0;
  uint16_t guest_port = 0;
};

// host_dev_name of an interface on the user-mode network (libslirp) instead of a tap.
inline constexpr std::string_view kUserNetwork = "user";

// Firecracker's `NetworkInterface`.
struct NetworkInterface {
  std::string iface_id;
  std::string host_dev_name;               // a tap, or kUserNetwork
  std::optional<std::string> guest_mac;    // "aa:bb:cc:dd:ee:ff", validated
  std::vector<HostForward> host_forwards;  // kUserNetwork only (--net user,hostfwd=...)
  std::optional<std::string> rx_rate_limiter;
  std::optional<std::string> tx_rate_limiter;
};

// Firecracker's `Logger`.
struct LoggerConfig {
  std::optional<std::string> log_path;  // file or FIFO
  std::string level = "Info";           // Error, Warning, Info, Debug, Trace, Off
  bool show_level = false;
  bool show_log_origin = false;
  std::optional<std::string> module;
};

// Firecracker's `Metrics`.
struct MetricsConfig {
  std::string metrics_path;
};

// Firecracker's `EntropyDevice`.
struct EntropyConfig {
  std::optional<std::string> rate_limiter;
};

}  // namespace vessel::config
