#include "backends/escape_filter.hpp"

namespace vessel::backends {

EscapeFilter::Action EscapeFilter::feed(uint8_t byte, std::vector<uint8_t>& out) {
  if (!escaped_) {
    if (byte == kEscape) {
      escaped_ = true;
    } else {
      out.push_back(byte);
    }
    return Action::kNone;
  }
  escaped_ = false;
  switch (byte) {
    case kEscape:
      out.push_back(kEscape);
      return Action::kNone;
    case 'x':
      return Action::kQuit;
    case 'h':
    case '?':
      return Action::kHelp;
    default:
      return Action::kNone;  // unknown command: dropped
  }
}

std::string_view EscapeFilter::help_text() {
  // "\r\n": the terminal is in raw mode while this is shown.
  return "\r\nC-a h    print this help\r\n"
         "C-a x    exit the VM\r\n"
         "C-a C-a  send C-a to the guest\r\n";
}

}  // namespace vessel::backends
