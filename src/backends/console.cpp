#include "backends/console.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "backends/escape_filter.hpp"
#include "backends/terminal.hpp"
#include "base/log.hpp"
#include "base/unique_fd.hpp"

namespace vessel::backends {
namespace {

// Input the guest has not taken yet is kept; past this much, stdin is not read until the guest
// catches up (the pipe or terminal then holds the rest).
constexpr size_t kMaxPending = 1 << 20;
// How often undelivered input is offered again (the guest drains its FIFO meanwhile).
constexpr int kRetryMs = 1;

// Writes all of `bytes`: resumes after partial writes and EINTR, waits if the descriptor is
// non-blocking and full. False on a real error (closed pipe, full disk, ...).
bool write_all(int fd, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n > 0) {
      bytes = bytes.subspan(static_cast<size_t>(n));
    } else if (n < 0 && errno == EAGAIN) {
      struct pollfd p {
        fd, POLLOUT, 0
      };
      ::poll(&p, 1, -1);
    } else if (n < 0 && errno != EINTR) {
      return false;
    }
  }
  return true;
}

class NullConsole final : public Console {
 public:
  void write(std::span<const uint8_t>) override {}
  void start_input(Deliver, Quit) override {}
  void stop() override {}
};

// Reads host input and hands it to the guest, keeping whatever the guest does not take yet.
class InputPump {
 public:
  InputPump(int in_fd, int stop_fd, bool escapes, Console::Deliver deliver, Console::Quit quit)
      : in_fd_(in_fd),
        stop_fd_(stop_fd),
        escapes_(escapes),
        deliver_(std::move(deliver)),
        quit_(std::move(quit)) {}

  void run() {
    for (;;) {
      offer_pending();
      if (!input_open_ && pending_.empty()) return;  // EOF and all delivered: input is over
      const bool want_input = input_open_ && pending_.size() < kMaxPending;
      std::array<struct pollfd, 2> fds = {
          {{stop_fd_, POLLIN, 0}, {want_input ? in_fd_ : -1, POLLIN, 0}}};
      const int r = ::poll(fds.data(), fds.size(), pending_.empty() ? -1 : kRetryMs);
      if (r < 0 && errno != EINTR) {
        log::error("console input: poll: {}", std::strerror(errno));
        return;
      }
      if (r <= 0) continue;
      if (fds[0].revents != 0) return;  // stop() was called
      if (fds[1].revents != 0) read_input();
    }
  }

 private:
  void offer_pending() {
    size_t done = 0;
    while (done < pending_.size()) {
      const size_t n = deliver_(std::span<const uint8_t>(pending_).subspan(done));
      if (n == 0) break;
      done += std::min(n, pending_.size() - done);
    }
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(done));
  }

  void read_input() {
    std::array<uint8_t, 4096> buffer;
    const ssize_t n = ::read(in_fd_, buffer.data(), buffer.size());
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      // End of file (or an unreadable stdin): no more input, the VM keeps running.
      if (n < 0) log::warn("console input: read: {}", std::strerror(errno));
      input_open_ = false;
      return;
    }
    const auto bytes = std::span(buffer).first(static_cast<size_t>(n));
    if (!escapes_) {
      pending_.insert(pending_.end(), bytes.begin(), bytes.end());
      return;
    }
    for (const uint8_t byte : bytes) {
      switch (filter_.feed(byte, pending_)) {
        case EscapeFilter::Action::kQuit:
          if (quit_) quit_();
          break;
        case EscapeFilter::Action::kHelp: {
          const std::string_view help = EscapeFilter::help_text();
          write_all(STDERR_FILENO,
                    std::span(reinterpret_cast<const uint8_t*>(help.data()), help.size()));
          break;
        }
        case EscapeFilter::Action::kNone:
          break;
      }
    }
  }

  int in_fd_;
  int stop_fd_;
  bool escapes_;
  Console::Deliver deliver_;
  Console::Quit quit_;
  EscapeFilter filter_;
  std::vector<uint8_t> pending_;
  bool input_open_ = true;
};

// A console writing to a descriptor (stdout or a file), optionally reading stdin.
class FdConsole final : public Console {
 public:
  FdConsole(int out_fd, UniqueFd owned_out, bool has_input, bool escapes, UniqueFd stop_event,
            std::unique_ptr<RawTerminal> terminal)
      : out_fd_(out_fd),
        owned_out_(std::move(owned_out)),
        has_input_(has_input),
        escapes_(escapes),
        stop_event_(std::move(stop_event)),
        terminal_(std::move(terminal)) {}

  ~FdConsole() override {
    stop();
    // Still joinable only if stop() came from the input thread (through quit()).
    if (!thread_.joinable()) return;
    if (thread_.get_id() == std::this_thread::get_id()) {
      thread_.detach();  // destroyed from quit(): the pump owns its state and ends on its own
    } else {
      thread_.join();
    }
  }

  void write(std::span<const uint8_t> bytes) override {
    std::lock_guard lock(write_mutex_);
    if (broken_ || write_all(out_fd_, bytes)) return;
    broken_ = true;  // report once; further output is discarded
    log::error("console output: {} (further guest output is discarded)", std::strerror(errno));
  }

  void start_input(Deliver deliver, Quit quit) override {
    std::lock_guard lock(control_mutex_);
    if (!has_input_ || stopped_ || thread_.joinable()) return;
    thread_ =
        std::thread([pump = InputPump(STDIN_FILENO, stop_event_.get(), escapes_, std::move(deliver),
                                      std::move(quit))]() mutable { pump.run(); });
  }

  void stop() override {
    std::lock_guard lock(control_mutex_);
    if (!stopped_) {
      stopped_ = true;
      const uint64_t one = 1;
      [[maybe_unused]] auto n = ::write(stop_event_.get(), &one, sizeof(one));
    }
    // quit() may lead to stop() on the input thread itself; that thread then just ends.
    if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
    if (terminal_) terminal_->restore();
  }

 private:
  int out_fd_;
  UniqueFd owned_out_;
  bool has_input_;
  bool escapes_;
  UniqueFd stop_event_;
  std::unique_ptr<RawTerminal> terminal_;
  std::mutex write_mutex_;
  bool broken_ = false;
  std::mutex control_mutex_;
  bool stopped_ = false;
  std::thread thread_;
};

Result<std::unique_ptr<Console>> open_stdio() {
  UniqueFd stop_event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_event.valid()) return fail("eventfd: {}", std::strerror(errno));
  // Only a terminal gets raw mode and escape keys; a pipe or file is passed through as it is.
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  std::unique_ptr<RawTerminal> terminal;
  if (tty) {
    auto raw = RawTerminal::enter(STDIN_FILENO);
    if (!raw) return context(raw.error(), "console on stdin");
    terminal = std::move(*raw);
  }
  return std::make_unique<FdConsole>(STDOUT_FILENO, UniqueFd(), true, tty, std::move(stop_event),
                                     std::move(terminal));
}

Result<std::unique_ptr<Console>> open_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644));
  if (!fd.valid()) return fail("console file {}: {}", path, std::strerror(errno));
  UniqueFd stop_event(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_event.valid()) return fail("eventfd: {}", std::strerror(errno));
  const int out = fd.get();
  return std::make_unique<FdConsole>(out, std::move(fd), false, false, std::move(stop_event),
                                     nullptr);
}

}  // namespace

Result<std::unique_ptr<Console>> Console::open(const config::ConsoleSpec& spec) {
  switch (spec.kind) {
    case config::ConsoleSpec::Kind::kStdio:
      return open_stdio();
    case config::ConsoleSpec::Kind::kFile:
      return open_file(spec.path);
    case config::ConsoleSpec::Kind::kNone:
      return std::make_unique<NullConsole>();
  }
  return fail("unknown console kind");
}

}  // namespace vessel::backends
