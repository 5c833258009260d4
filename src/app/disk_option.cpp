#include "app/disk_option.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <string_view>

namespace vessel::app {
namespace {

Result<bool> parse_on_off(std::string_view key, std::string_view value) {
  if (value == "on" || value == "true" || value == "yes") return true;
  if (value == "off" || value == "false" || value == "no") return false;
  return fail("--disk: {}={} is not on or off", key, value);
}

Result<void> check_file(const std::string& path, bool read_only) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail("--disk: {}: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    return fail("--disk: {}: not a regular file or block device", path);
  if (::access(path.c_str(), read_only ? R_OK : R_OK | W_OK) != 0)
    return fail("--disk: {}: {}{}", path, std::strerror(errno),
                read_only ? "" : " (add readonly=on for a read-only disk)");
  return {};
}

}  // namespace

Result<config::Drive> parse_disk_option(const std::string& text, unsigned index) {
  config::Drive drive;
  drive.drive_id = fmt::format("drive{}", index);
  drive.io_engine = "Async";  // io_uring where the host allows it, else synchronous
  std::string_view rest = text;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos)
      return fail("--disk '{}': expected key=value, got '{}'", text, item);
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    if (key == "path") {
      if (value.empty()) return fail("--disk '{}': empty path", text);
      drive.path_on_host = std::string(value);
    } else if (key == "readonly") {
      drive.is_read_only = VESSEL_TRY(parse_on_off(key, value));
    } else if (key == "io") {
      if (value != "uring" && value != "sync")
        return fail("--disk '{}': io={} is not uring or sync", text, value);
      drive.io_engine = value == "uring" ? "Async" : "Sync";
    } else {
      return fail("--disk '{}': unknown key '{}' (known: path, readonly, io)", text, key);
    }
  }
  if (drive.path_on_host.empty()) return fail("--disk '{}': path=FILE is required", text);
  VESSEL_TRY_VOID(check_file(drive.path_on_host, drive.is_read_only));
  return drive;
}

}  // namespace vessel::app
