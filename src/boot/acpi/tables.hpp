// The ACPI tables vessel's PC platform needs for Linux to find its CPUs, interrupt routing and
// power-off: MADT (ACPI 6.5 §5.2.12), FADT (§5.2.9), FACS (§5.2.10) and a DSDT whose AML
// holds only what the platform needs (\_S5 for soft-off). Devices described in AML (e.g.
// virtio-mmio, issue 6) are passed in as extra AML appended to the DSDT.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vessel::boot::acpi {

// The PM1 register block and reset port the FADT advertises. They must match the ACPI PM
// device (src/devices/legacy/acpi_pm.hpp, which uses the same values; boot may not include
// device headers).
inline constexpr uint16_t kPm1aEventBlock = 0x600;    // PM1a_STS + PM1a_EN, 4 bytes
inline constexpr uint16_t kPm1aControlBlock = 0x604;  // PM1a_CNT, 2 bytes
inline constexpr uint16_t kPmTimerBlock = 0x608;      // PM_TMR, 4 bytes (24-bit counter)
inline constexpr uint16_t kResetPort = 0xcf9;         // reset control register
inline constexpr uint8_t kResetValue = 0x06;          // full reset (CF9: SYS_RST | RST_CPU)
inline constexpr uint8_t kSciIrq = 9;
inline constexpr uint8_t kS5SleepType = 5;  // SLP_TYP written to PM1a_CNT for soft-off

inline constexpr size_t kFadtSize = 276;  // revision 6 (ACPI 6.0+)
inline constexpr size_t kFacsSize = 64;

std::vector<uint8_t> make_madt(unsigned vcpus);
std::vector<uint8_t> make_fadt(uint64_t dsdt, uint64_t facs);
std::vector<uint8_t> make_facs();
std::vector<uint8_t> make_dsdt(std::span<const uint8_t> extra_aml);

// AML for `Name (\_S5, Package () { typ, typ, 0, 0 })` (ACPI 6.5 §7.4.2.5, §20.2.5).
std::vector<uint8_t> s5_aml(uint8_t sleep_type);

}  // namespace vessel::boot::acpi
