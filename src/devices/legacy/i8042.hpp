// The 8042 keyboard controller (IBM PC/AT technical reference; the PS/2 controller at ports
// 0x60 data and 0x64 status/command) with a keyboard behind it, enough for Linux's i8042 and
// atkbd probes to finish quickly and without errors, and for the 0xfe "pulse reset line"
// command that reboots a PC.
//
// Modelled: the status register (OBF, SYS, A2, unlocked, AUX OBF), the command byte (0x20 read,
// 0x60 write), self-test 0xaa -> 0x55, keyboard interface test 0xab -> 0x00, disable/enable of
// both ports (0xad/0xae, 0xa7/0xa8), output port read/write (0xd0/0xd1; clearing bit 0 resets),
// 0xd2 (write keyboard output buffer), 0xf0-0xff pulses (bit 0 low -> reset), and a keyboard
// that ACKs its commands (reset with BAT 0xaa, identify 0xab 0x83, echo, scancode set query).
// There is no mouse: the AUX loopback (0xd3) answers without the AUX flag and the AUX
// interface test (0xa9) reports "clock line stuck low" (0x01), so Linux decides at once that
// there is no AUX port instead of timing out on it. No host keyboard input yet,
// except Ctrl+Alt+Del (press_ctrl_alt_del).
//
// Wiring: auto kbc = std::make_shared<I8042>(vm_control, bus::IrqLine(&irq_router, 1));
//         attach_ports(buses.pio, kbc, I8042::kPorts);
// Thread safety: one mutex; the IRQ line and VmControl are called with it released.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>

#include "bus/device_state.hpp"
#include "bus/io_device.hpp"
#include "bus/irq.hpp"
#include "bus/vm_control.hpp"
#include "devices/legacy/port_window.hpp"

namespace vessel::devices {

class I8042 final : public bus::IoDevice, public bus::Stateful {
 public:
  // Snapshots (bus/device_state.hpp).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  static constexpr uint16_t kDataPort = 0x60;
  static constexpr uint16_t kCommandPort = 0x64;
  static constexpr std::array<PortRange, 2> kPorts{{{kDataPort, 1}, {kCommandPort, 1}}};
  static constexpr uint32_t kKeyboardIrq = 1;

  I8042(bus::VmControl& control, bus::IrqLine keyboard_irq);

  std::string_view name() const override { return "i8042"; }
  // Addressed by absolute port number (see port_window.hpp).
  void read(uint64_t port, std::span<uint8_t> data) override;
  void write(uint64_t port, std::span<const uint8_t> data) override;

  // Presses and releases Ctrl+Alt+Del on the keyboard (Firecracker's SendCtrlAltDel): the
  // scancodes go to the guest in the set it reads (set 1 when the controller translates).
  void press_ctrl_alt_del();

 private:
  struct Actions {
    bool reset = false;
  };
  uint8_t status() const;
  uint8_t read_data();
  void write_command(uint8_t command, Actions& actions);
  void write_data(uint8_t value, Actions& actions);
  void keyboard_command(uint8_t value);
  void push(uint8_t byte);
  bool irq_pin() const;
  void sync_irq();  // with mutex_ released
  void finish(const Actions& actions);

  bus::VmControl& control_;
  bus::IrqLine irq_;
  mutable std::mutex irq_mutex_;
  bool irq_level_ = false;  // guarded by irq_mutex_

  mutable std::mutex mutex_;
  std::deque<uint8_t> output_;  // keyboard bytes for the guest (at most a few)
  uint8_t last_output_ = 0;
  bool next_byte_edge_ = false;   // a byte was taken and another waits: pulse the IRQ again
  uint8_t command_byte_ = 0x65;   // translate, AUX disabled, SYS, keyboard interrupt
  uint8_t pending_command_ = 0;   // controller command waiting for its data byte
  uint8_t keyboard_pending_ = 0;  // keyboard command waiting for its argument
  bool last_was_command_ = false;
  uint8_t scancode_set_ = 2;
};

}  // namespace vessel::devices
