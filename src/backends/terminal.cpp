#include "backends/terminal.hpp"

#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace vessel::backends {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};
constexpr size_t kSignalCount = sizeof(kFatalSignals) / sizeof(kFatalSignals[0]);

// Process-wide, because signal handlers and atexit() cannot carry a pointer. g_fd is the raw
// terminal's descriptor, or -1 when no terminal needs restoring.
struct termios g_saved;
std::atomic<int> g_fd{-1};
struct sigaction g_previous[kSignalCount];
std::once_flag g_install_once;

void restore_saved() {
  const int fd = g_fd.exchange(-1);
  if (fd >= 0) ::tcsetattr(fd, TCSANOW, &g_saved);
}

void on_fatal_signal(int sig) {
  const int saved_errno = errno;
  restore_saved();
  // Give the signal back to whoever had it before (the default action: core dump) and raise it
  // again; it is delivered when this handler returns (a fault re-executes and re-faults).
  for (size_t i = 0; i < kSignalCount; ++i) {
    if (kFatalSignals[i] == sig) ::sigaction(sig, &g_previous[i], nullptr);
  }
  ::raise(sig);
  errno = saved_errno;
}

void install_handlers() {
  for (size_t i = 0; i < kSignalCount; ++i) {
    struct sigaction action {};
    action.sa_handler = on_fatal_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    ::sigaction(kFatalSignals[i], &action, &g_previous[i]);
  }
  std::atexit(restore_saved);
}

}  // namespace

Result<std::unique_ptr<RawTerminal>> RawTerminal::enter(int fd) {
  struct termios saved;
  if (::tcgetattr(fd, &saved) != 0) return fail("tcgetattr: {}", std::strerror(errno));
  if (g_fd.load() >= 0) return fail("a terminal is already in raw mode");

  struct termios raw = saved;
  // Input: no break handling, no parity marking or stripping, no CR/NL mapping, no XON/XOFF
  // (Ctrl-S and Ctrl-Q belong to the guest). Local: no echo, no canonical mode, no signal keys
  // (Ctrl-C goes to the guest; Ctrl-A x quits), no extended input processing.
  raw.c_iflag &= ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
  raw.c_lflag &= ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
  raw.c_cflag &= ~(CSIZE | PARENB);
  raw.c_cflag |= CS8;
  raw.c_cc[VMIN] = 1;
  raw.c_cc[VTIME] = 0;

  std::call_once(g_install_once, install_handlers);
  g_saved = saved;
  g_fd.store(fd);
  if (::tcsetattr(fd, TCSANOW, &raw) != 0) {
    const int err = errno;
    g_fd.store(-1);
    return fail("tcsetattr: {}", std::strerror(err));
  }
  std::unique_ptr<RawTerminal> terminal(new RawTerminal());
  terminal->active_ = true;
  return terminal;
}

void RawTerminal::restore() {
  if (!active_) return;
  active_ = false;
  restore_saved();
}

}  // namespace vessel::backends
