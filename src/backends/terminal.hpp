// RawTerminal: puts a terminal in raw mode for the guest console and guarantees it is put back
// on every way out — destruction, an explicit restore(), exit() (atexit) and fatal signals
// (SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL: the handler restores the settings with
// tcsetattr(), which is async-signal-safe, then hands the signal to the previous disposition).
// SIGINT/SIGTERM/SIGHUP are not handled here: the machine blocks them and tears down normally.
//
// Raw mode here is input-side raw: no line editing, echo, signal keys or CR/NL translation on
// input, 8-bit characters. Output processing (OPOST) is left as it was, as QEMU's stdio
// character device does, so the VMM's own "\n"-terminated diagnostics stay readable.
// At most one terminal is raw at a time (the process has one controlling terminal).
#pragma once

#include <memory>

#include "base/result.hpp"

namespace vessel::backends {

class RawTerminal {
 public:
  static Result<std::unique_ptr<RawTerminal>> enter(int fd);
  ~RawTerminal() { restore(); }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  // Puts the saved settings back; later calls do nothing.
  void restore();

 private:
  RawTerminal() = default;
  bool active_ = false;
};

}  // namespace vessel::backends
