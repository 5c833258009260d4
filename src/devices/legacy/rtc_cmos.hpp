// The CMOS real-time clock (Motorola MC146818A data sheet; the PC's RTC at ports 0x70-0x71,
// IRQ 8) with its 128 bytes of CMOS RAM. Port 0x70 selects a register (bits 0-6) and holds the
// NMI mask (bit 7, which the machine can read through nmi_masked()); port 0x71 accesses it.
//
// Time starts at the host's UTC time when the device is made and then advances with the
// monotonic Clock (so guest time keeps the wall-clock rate even if the host's clock is set);
// guest writes to the time registers shift it. Modelled: BCD/binary and 12/24-hour formats
// per status register B, the century byte at 0x32 (ACPI FADT "CENTURY"), status A's update-in-
// progress bit (set for the 244 us before each second's update) and rate select, status B's
// interrupt enables, status C's flags (cleared by reading C), status D's valid-RAM bit, and
// periodic, alarm and update-ended interrupts on IRQ 8 (the line is high while C.IRQF is set).
// Not modelled: daylight saving (B bit 0), the square-wave output, divider stage resets.
//
// Wiring: auto rtc = std::make_shared<RtcCmos>(timers, bus::IrqLine(&irq_router, 8));
//         rtc->set_memory_size(below_4g, above_4g);   // the BIOS-filled size bytes
//         attach_ports(buses.pio, rtc, RtcCmos::kPorts);
// Thread safety: one mutex; the IRQ line is driven with it released (a second mutex orders the
// level changes).
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <mutex>
#include <optional>

#include "base/timer_queue.hpp"
#include "bus/device_state.hpp"
#include "bus/io_device.hpp"
#include "bus/irq.hpp"
#include "devices/legacy/port_window.hpp"

namespace vessel::devices {

class RtcCmos final : public bus::IoDevice, public bus::Stateful {
 public:
  // Snapshots (bus/device_state.hpp).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  static constexpr uint16_t kIndexPort = 0x70;
  static constexpr uint16_t kDataPort = 0x71;
  static constexpr std::array<PortRange, 1> kPorts{{{kIndexPort, 2}}};
  static constexpr uint32_t kIrq = 8;
  static constexpr uint8_t kCenturyRegister = 0x32;

  // `start_utc`: the initial time in seconds since the epoch; the host's UTC time if unset.
  RtcCmos(TimerService& timers, bus::IrqLine irq, std::optional<time_t> start_utc = {});
  ~RtcCmos() override;
  RtcCmos(const RtcCmos&) = delete;
  RtcCmos& operator=(const RtcCmos&) = delete;

  std::string_view name() const override { return "rtc-cmos"; }
  // Addressed by absolute port number (see port_window.hpp).
  void read(uint64_t port, std::span<uint8_t> data) override;
  void write(uint64_t port, std::span<const uint8_t> data) override;

  // CMOS RAM as a BIOS would fill it (indexes 0x0e-0x7f; others are clock registers).
  void set_ram(uint8_t index, uint8_t value);
  // Fills the memory size bytes: 0x15-0x16 base memory (640 KiB), 0x17-0x18 and 0x30-0x31
  // extended memory above 1 MiB in KiB (up to 64 MiB), 0x34-0x35 memory above 16 MiB in
  // 64 KiB units, 0x5b-0x5d memory above 4 GiB in 64 KiB units.
  void set_memory_size(uint64_t below_4g, uint64_t above_4g);
  bool nmi_masked() const;

 private:
  uint8_t read_register(uint8_t index, int64_t now);
  void write_register(uint8_t index, uint8_t value, int64_t now);
  int64_t guest_ns(int64_t now) const { return epoch_ns_ + (now - base_ns_); }
  std::tm broken_down(int64_t now) const;
  uint8_t encode(int value) const;  // binary or BCD per register B
  int decode(uint8_t value) const;
  uint8_t encode_hour(int hour) const;
  int decode_hour(uint8_t value) const;
  void set_time_field(uint8_t index, uint8_t value, int64_t now);
  int64_t periodic_ns() const;  // 0 when the rate select is off
  void update_flags(int64_t now);
  bool alarm_matches(const std::tm& t) const;
  void schedule(int64_t now);
  void on_timer();
  void sync_irq();  // with mutex_ released

  TimerService& timers_;
  bus::IrqLine irq_;
  TimerId timer_;
  mutable std::mutex irq_mutex_;
  bool irq_level_ = false;  // guarded by irq_mutex_

  mutable std::mutex mutex_;
  std::array<uint8_t, 128> cmos_{};
  uint8_t index_ = 0;
  bool nmi_masked_ = false;
  int64_t epoch_ns_;    // guest time (ns since the epoch) at base_ns_
  int64_t base_ns_;     // Clock time when epoch_ns_ was taken
  int64_t checked_ns_;  // Clock time up to which flags have been updated
  int64_t origin_ns_;   // Clock time the periodic divider chain counts from
  uint8_t reg_a_ = 0x26, reg_b_ = 0x02, reg_c_ = 0;
};

}  // namespace vessel::devices
