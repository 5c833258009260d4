#include "vmm/logger_output.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vessel::vmm {

log::Level to_log_level(const std::string& level) {
  if (level == "Warning") return log::Level::kWarn;
  if (level == "Info") return log::Level::kInfo;
  if (level == "Debug" || level == "Trace") return log::Level::kDebug;
  return log::Level::kError;
}

Result<void> apply_logger(const config::LoggerConfig& logger) {
  if (logger.log_path) {
    // Non-blocking like Firecracker's: a FIFO nobody reads loses lines, the VMM never stalls.
    // O_RDWR lets a FIFO open before its reader does.
    int fd = ::open(logger.log_path->c_str(), O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC,
                    0644);
    if (fd < 0) return fail("cannot open log file {}: {}", *logger.log_path, std::strerror(errno));
    const bool moved = ::dup2(fd, STDERR_FILENO) >= 0;
    const int saved = errno;
    ::close(fd);
    if (!moved) return fail("cannot redirect the log: {}", std::strerror(saved));
  }
  log::set_level(to_log_level(logger.level));
  return {};
}

}  // namespace vessel::vmm
