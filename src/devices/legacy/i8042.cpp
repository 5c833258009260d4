#include "devices/legacy/i8042.hpp"

#include <utility>

namespace vessel::devices {

namespace {
// Status register bits.
constexpr uint8_t kStatusObf = 0x01, kStatusSys = 0x04, kStatusA2 = 0x08, kStatusUnlocked = 0x10;
// Command byte bits.
constexpr uint8_t kCmdKbdInterrupt = 0x01, kCmdSys = 0x04, kCmdKbdDisabled = 0x10;
constexpr uint8_t kCmdAuxDisabled = 0x20;
constexpr uint8_t kAck = 0xfa;
constexpr size_t kMaxOutput = 16;  // a guest flooding commands cannot grow the queue
}  // namespace

I8042::I8042(bus::VmControl& control, bus::IrqLine keyboard_irq)
    : control_(control), irq_(keyboard_irq) {}

void I8042::read(uint64_t port, std::span<uint8_t> data) {
  {
    std::lock_guard lock(mutex_);
    for (auto& b : data) b = port == kDataPort ? read_data() : status();
  }
  sync_irq();
}

void I8042::write(uint64_t port, std::span<const uint8_t> data) {
  Actions actions;
  {
    std::lock_guard lock(mutex_);
    for (uint8_t v : data) {
      if (port == kCommandPort) {
        write_command(v, actions);
      } else if (port == kDataPort) {
        write_data(v, actions);
      }
    }
  }
  finish(actions);
}

uint8_t I8042::status() const {
  return static_cast<uint8_t>((output_.empty() ? 0 : kStatusObf) |
                              (command_byte_ & kCmdSys ? kStatusSys : 0) |
                              (last_was_command_ ? kStatusA2 : 0) | kStatusUnlocked);
}

uint8_t I8042::read_data() {
  if (!output_.empty()) {
    last_output_ = output_.front();
    output_.pop_front();
    next_byte_edge_ = !output_.empty();
  }
  return last_output_;  // an empty buffer repeats the last byte, like the real latch
}

void I8042::push(uint8_t byte) {
  if (output_.size() < kMaxOutput) output_.push_back(byte);
}

void I8042::write_command(uint8_t command, Actions& actions) {
  last_was_command_ = true;
  pending_command_ = 0;
  switch (command) {
    case 0x20:  // read command byte
      push(command_byte_);
      break;
    case 0x60:  // write command byte (next data byte)
    case 0xd1:  // write output port
    case 0xd2:  // write keyboard output buffer
    case 0xd3:  // write AUX output buffer (loopback)
    case 0xd4:  // write to AUX device
      pending_command_ = command;
      break;
    case 0xa7:
      command_byte_ |= kCmdAuxDisabled;
      break;
    case 0xa8:
      command_byte_ &= ~kCmdAuxDisabled;
      break;
    case 0xa9:  // AUX interface test: 0x01 "clock line stuck low" (no AUX device)
      push(0x01);
      break;
    case 0xaa:  // controller self-test passes and sets the system flag
      command_byte_ |= kCmdSys;
      push(0x55);
      break;
    case 0xab:  // keyboard interface test passes
      push(0x00);
      break;
    case 0xad:
      command_byte_ |= kCmdKbdDisabled;
      break;
    case 0xae:
      command_byte_ &= ~kCmdKbdDisabled;
      break;
    case 0xd0:  // read output port: reset line high (inactive), A20 enabled
      push(0x03);
      break;
    default:
      // 0xf0-0xff pulse output port bits 0-3 low for each clear bit; bit 0 is the CPU reset.
      if (command >= 0xf0 && !(command & 1)) actions.reset = true;
      break;
  }
}

void I8042::write_data(uint8_t value, Actions& actions) {
  last_was_command_ = false;
  const uint8_t command = pending_command_;
  pending_command_ = 0;
  switch (command) {
    case 0x60:
      command_byte_ = value;
      break;
    case 0xd1:
      if (!(value & 1)) actions.reset = true;
      break;
    case 0xd2:
      push(value);
      break;
    case 0xd3:
      // Answered as keyboard data: Linux's loopback check sees no AUX flag and gives up on AUX.
      push(value);
      break;
    case 0xd4:
      break;  // no AUX device: the byte goes nowhere
    default:
      keyboard_command(value);
      break;
  }
}

void I8042::keyboard_command(uint8_t value) {
  // Commands with an argument (set LEDs, typematic rate, scancode set) ACK both bytes.
  if (keyboard_pending_) {
    const uint8_t command = keyboard_pending_;
    keyboard_pending_ = 0;
    push(kAck);
    if (command == 0xf0) {
      if (value == 0) {
        push(scancode_set_);
      } else if (value <= 3) {
        scancode_set_ = value;
      }
    }
    return;
  }
  switch (value) {
    case 0xed:  // set LEDs
    case 0xf3:  // typematic rate
    case 0xf0:  // scancode set
      keyboard_pending_ = value;
      push(kAck);
      break;
    case 0xee:  // echo
      push(0xee);
      break;
    case 0xf2:  // identify: an MF2 keyboard
      push(kAck);
      push(0xab);
      push(0x83);
      break;
    case 0xff:  // reset: ACK, then the basic assurance test passed
      scancode_set_ = 2;
      push(kAck);
      push(0xaa);
      break;
    default:  // enable, disable, set defaults, resend and the rest: acknowledged
      push(kAck);
      break;
  }
}

bool I8042::irq_pin() const {
  return !output_.empty() && (command_byte_ & kCmdKbdInterrupt);
}

void I8042::sync_irq() {
  std::lock_guard order(irq_mutex_);
  bool level, new_edge;
  {
    std::lock_guard lock(mutex_);
    level = irq_pin();
    new_edge = std::exchange(next_byte_edge_, false);
  }
  // Each byte is its own interrupt: drop the line between bytes so edge inputs see a new edge.
  if (level && irq_level_ && new_edge) irq_.set_level(false);
  if (level != irq_level_ || (level && new_edge)) irq_.set_level(level);
  irq_level_ = level;
}

void I8042::finish(const Actions& actions) {
  sync_irq();
  if (actions.reset) control_.request_reset("i8042 reset line pulsed");
}

void I8042::press_ctrl_alt_del() {
  // Make and break codes of Left Ctrl, Left Alt and Delete (an E0-prefixed key).
  static constexpr std::array<uint8_t, 8> kSet1{0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
  static constexpr std::array<uint8_t, 11> kSet2{0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
                                                 0x71, 0xf0, 0x11, 0xf0, 0x14};
  constexpr uint8_t kCmdTranslate = 0x40;
  {
    std::lock_guard lock(mutex_);
    if (command_byte_ & kCmdTranslate) {
      for (uint8_t b : kSet1) push(b);
    } else {
      for (uint8_t b : kSet2) push(b);
    }
  }
  sync_irq();
}

Result<void> I8042::save_state(bus::StateWriter& out) const {
  std::scoped_lock lock(irq_mutex_, mutex_);
  out(output_, last_output_, next_byte_edge_, command_byte_, pending_command_, keyboard_pending_,
      last_was_command_, scancode_set_, irq_level_);
  return {};
}

Result<void> I8042::load_state(bus::StateReader& in) {
  std::scoped_lock lock(irq_mutex_, mutex_);
  in(output_, last_output_, next_byte_edge_, command_byte_, pending_command_, keyboard_pending_,
     last_was_command_, scancode_set_, irq_level_);
  if (output_.size() > kMaxOutput) in.fail_with("i8042: output queue too long");
  return in.finish();
}

}  // namespace vessel::devices
