// The 8254 programmable interval timer (Intel 8254 data sheet, order 231164) at ports
// 0x40-0x43, with port 0x61 (the AT "system control port B": channel 2 gate, speaker enable,
// channel 2 output and the refresh toggle).
//
// Counters follow the Clock at 1.193182 MHz: a channel remembers when it was loaded and its
// count is computed from the elapsed time when read; nothing ticks. Modes 0-5, the counter
// latch and read-back commands, and lo/hi/lo-then-hi access are modelled; BCD counting is
// not (the BCD bit is stored and reported in the status, the count stays binary — no kernel
// uses BCD). Simplifications: a new count in modes 2/3 takes effect at once instead of at the
// end of the current period; the one-tick load delay after a count write is not modelled.
//
// Channel 0's OUT drives IRQ 0: each rising edge becomes an IrqLine pulse, delivered by a timer
// armed for the next edge (periods missed by a late host are coalesced into one pulse).
// Channel 1 (DRAM refresh) counts but drives nothing; channel 2's gate and OUT are bits 0 and
// 5 of port 0x61, which Linux's TSC calibration polls (pit_hpet_ptimer_calibrate_cpu,
// quick_pit_calibrate: mode 0 on channel 2, reading the MSB while it counts down).
//
// Wiring: auto pit = std::make_shared<Pit8254>(timers, bus::IrqLine(&irq_router, 0));
//         attach_ports(buses.pio, pit, Pit8254::kPorts);
// Thread safety: one mutex; the IRQ line is pulsed with it released.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "base/timer_queue.hpp"
#include "bus/device_state.hpp"
#include "bus/io_device.hpp"
#include "bus/irq.hpp"
#include "devices/legacy/port_window.hpp"

namespace vessel::devices {

class Pit8254 final : public bus::IoDevice, public bus::Stateful {
 public:
  // Snapshots (bus/device_state.hpp).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  static constexpr uint64_t kFrequencyHz = 1'193'182;
  static constexpr uint16_t kBasePort = 0x40;
  static constexpr uint16_t kControlPort = 0x43;
  static constexpr uint16_t kPortB = 0x61;
  static constexpr std::array<PortRange, 2> kPorts{{{kBasePort, 4}, {kPortB, 1}}};

  Pit8254(TimerService& timers, bus::IrqLine irq0);
  ~Pit8254() override;
  Pit8254(const Pit8254&) = delete;
  Pit8254& operator=(const Pit8254&) = delete;

  std::string_view name() const override { return "pit8254"; }
  // Addressed by absolute port number (see port_window.hpp).
  void read(uint64_t port, std::span<uint8_t> data) override;
  void write(uint64_t port, std::span<const uint8_t> data) override;

 private:
  struct Channel {
    uint8_t mode = 0;    // 0-5
    uint8_t access = 3;  // 1: LSB, 2: MSB, 3: LSB then MSB
    bool bcd = false;
    uint32_t reload = 0x10000;  // a written 0 means 65536
    bool loaded = false;        // a count was written since the control word
    bool gate = true;
    bool triggered = false;  // modes 1 and 5: a gate rising edge started the count
    int64_t start_ns = 0;    // when counting (re)started
    uint64_t banked = 0;     // ticks counted before the gate went low (modes 0 and 4)
    bool null_count = true;
    bool write_msb_next = false;
    uint8_t write_lsb = 0;
    bool read_msb_next = false;
    bool count_latched = false;
    bool latch_msb_next = false;
    uint16_t latched_count = 0;
    bool status_latched = false;
    uint8_t latched_status = 0;
  };

  uint8_t read_port(uint16_t port, int64_t now);
  void write_port(uint16_t port, uint8_t value, int64_t now);
  void write_control(uint8_t value, int64_t now);
  void write_count(Channel& c, uint8_t value, int64_t now);
  void read_back(uint8_t value, int64_t now);
  uint8_t read_counter(Channel& c, int64_t now);
  void set_gate(Channel& c, bool gate, int64_t now);

  uint64_t ticks(const Channel& c, int64_t now) const;
  uint16_t count(const Channel& c, int64_t now) const;
  bool out(const Channel& c, int64_t now) const;
  uint8_t status(const Channel& c, int64_t now) const;
  // The next rising edge of channel 0's OUT strictly after `now`, in Clock ns; -1 if none.
  int64_t next_rising_edge(const Channel& c, int64_t now) const;
  void schedule_irq(int64_t now);  // re-arms the IRQ 0 timer for channel 0's next edge
  void on_timer();

  TimerService& timers_;
  bus::IrqLine irq0_;
  TimerId timer_;
  mutable std::mutex mutex_;
  std::array<Channel, 3> channels_{};
  uint8_t port_b_ = 0;     // bits 0-3 as written
  int64_t irq_edge_ = -1;  // the channel 0 edge the timer is armed for (-1: none)
};

}  // namespace vessel::devices
