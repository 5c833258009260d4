// Console: the host side of the guest's serial console. On a terminal, stdin is put in raw
// mode (restored on every exit path: normal return, error, fatal signal) and Ctrl-A x quits, as
// in QEMU (Ctrl-A Ctrl-A sends a literal Ctrl-A); otherwise input is read from the pipe or file
// as it is. Output goes to stdout, to a file, or nowhere.
#pragma once

#include <functional>
#include <memory>
#include <span>

#include "base/result.hpp"
#include "config/vm_config.hpp"

namespace vessel::backends {

class Console {
 public:
  // Takes host input bytes; returns how many it accepted (the rest are offered again later).
  using Deliver = std::function<size_t(std::span<const uint8_t>)>;
  using Quit = std::function<void()>;

  static Result<std::unique_ptr<Console>> open(const config::ConsoleSpec& spec);
  virtual ~Console() = default;

  // Guest -> host. Safe from any thread.
  virtual void write(std::span<const uint8_t> bytes) = 0;
  // Starts the input thread (no-op for consoles without input).
  virtual void start_input(Deliver deliver, Quit quit) = 0;
  // Stops the input thread and restores the terminal; also done by the destructor.
  virtual void stop() = 0;
};

}  // namespace vessel::backends
