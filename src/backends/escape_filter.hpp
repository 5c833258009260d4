// EscapeFilter: the console's Ctrl-A escape keys, as in QEMU's serial multiplexer. Ctrl-A x
// quits, Ctrl-A h (or ?) prints help, Ctrl-A Ctrl-A sends one Ctrl-A to the guest; any other
// key after Ctrl-A is swallowed. A pure state machine, so it is tested without a terminal; the
// console uses it only when stdin is a terminal (a pipe's bytes pass through unchanged).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace vessel::backends {

class EscapeFilter {
 public:
  static constexpr uint8_t kEscape = 0x01;  // Ctrl-A

  enum class Action { kNone, kQuit, kHelp };

  // Processes one input byte: bytes meant for the guest are appended to `out`; the return value
  // says whether an escape command was completed.
  Action feed(uint8_t byte, std::vector<uint8_t>& out);

  static std::string_view help_text();

 private:
  bool escaped_ = false;
};

}  // namespace vessel::backends
