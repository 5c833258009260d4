// ACPI fixed-hardware power-management registers (ACPI 6.5 section 4.8): the PM1a event block
// (PM1_STS/PM1_EN), the PM1a control block (SLP_TYP/SLP_EN, SCI_EN), the 24-bit PM timer at
// 3.579545 MHz, and the reset register at port 0xcf9 (the PIIX/ICH reset control register).
// Enough for `poweroff` (S5) and `reboot` in a guest; there are no SCI events (the PM timer
// overflow status is reported but never raises the SCI), no sleep states other than S5.
//
// The firmware tables describe these same numbers: the FADT/DSDT builder includes this header
// (namespace acpi_pm below) so they cannot drift apart.
//
// Wiring: auto pm = std::make_shared<AcpiPm>(timers.clock(), vm_control);
//         attach_ports(buses.pio, pm, AcpiPm::kPorts);
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "base/clock.hpp"
#include "bus/device_state.hpp"
#include "bus/io_device.hpp"
#include "bus/vm_control.hpp"
#include "devices/legacy/port_window.hpp"

namespace vessel::devices {

namespace acpi_pm {
inline constexpr uint16_t kPm1aEventPort = 0x600;    // FADT PM1a_EVT_BLK
inline constexpr uint8_t kPm1EventLength = 4;        // FADT PM1_EVT_LEN: STS (2) + EN (2)
inline constexpr uint16_t kPm1aControlPort = 0x604;  // FADT PM1a_CNT_BLK
inline constexpr uint8_t kPm1ControlLength = 2;      // FADT PM1_CNT_LEN
inline constexpr uint16_t kPmTimerPort = 0x608;      // FADT PM_TMR_BLK
inline constexpr uint8_t kPmTimerLength = 4;         // FADT PM_TMR_LEN
inline constexpr uint64_t kPmTimerHz = 3'579'545;
inline constexpr bool kPmTimer32Bit = false;   // FADT flags TMR_VAL_EXT = 0: a 24-bit timer
inline constexpr uint16_t kResetPort = 0xcf9;  // FADT RESET_REG (system I/O, 8 bits)
inline constexpr uint8_t kResetValue = 0x06;   // FADT RESET_VALUE
inline constexpr uint8_t kSlpTypS5 = 5;        // the DSDT's \_S5 package gives this SLP_TYP
inline constexpr uint8_t kSciIrq = 9;          // FADT SCI_INT (never raised)
// Bits.
inline constexpr uint16_t kPm1StsTimer = 1u << 0;   // TMR_STS
inline constexpr uint16_t kPm1StsWake = 1u << 15;   // WAK_STS
inline constexpr uint16_t kPm1CntSciEn = 1u << 0;   // SCI_EN: always in ACPI mode (no SMI_CMD)
inline constexpr uint16_t kPm1CntSlpTypShift = 10;  // SLP_TYP: bits 10-12
inline constexpr uint16_t kPm1CntSlpEn = 1u << 13;  // SLP_EN (write-only)
}  // namespace acpi_pm

class AcpiPm final : public bus::IoDevice, public bus::Stateful {
 public:
  // Snapshots (bus/device_state.hpp).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  static constexpr std::array<PortRange, 2> kPorts{
      {{acpi_pm::kPm1aEventPort,
        acpi_pm::kPm1EventLength + acpi_pm::kPm1ControlLength + 2 + acpi_pm::kPmTimerLength},
       {acpi_pm::kResetPort, 1}}};

  AcpiPm(const Clock& clock, bus::VmControl& control);

  std::string_view name() const override { return "acpi-pm"; }
  // Addressed by absolute port number (see port_window.hpp).
  void read(uint64_t port, std::span<uint8_t> data) override;
  void write(uint64_t port, std::span<const uint8_t> data) override;

 private:
  uint64_t timer_ticks() const;  // since the device was made, not truncated to 24 bits
  uint16_t status();

  const Clock& clock_;
  bus::VmControl& control_;
  int64_t origin_ns_;  // Clock time the PM timer counts from
  mutable std::mutex mutex_;
  uint16_t enable_ = 0;
  uint16_t control_reg_ = acpi_pm::kPm1CntSciEn;
  uint64_t timer_epoch_ = 0;  // timer_ticks() >> 23 when TMR_STS was last cleared
  uint8_t reset_reg_ = 0;
};

}  // namespace vessel::devices
