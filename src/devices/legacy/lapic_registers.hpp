// Register offsets and bit fields of the xAPIC page (SDM Vol. 3A table 10-1, figure 10-8),
// shared by the LocalApic's source files. Internal to devices/legacy.
#pragma once

#include <array>
#include <cstdint>

namespace vessel::devices::lapic_regs {

enum Reg : uint32_t {
  kId = 0x20,
  kVersion = 0x30,
  kTpr = 0x80,
  kApr = 0x90,
  kPpr = 0xa0,
  kEoi = 0xb0,
  kLdr = 0xd0,
  kDfr = 0xe0,
  kSvr = 0xf0,
  kIsr = 0x100,
  kTmr = 0x180,
  kIrr = 0x200,
  kEsr = 0x280,
  kIcrLow = 0x300,
  kIcrHigh = 0x310,
  kLvtTimer = 0x320,  // then thermal, perf, LINT0, LINT1, error, 0x10 apart
  kLvtError = 0x370,
  kInitialCount = 0x380,
  kCurrentCount = 0x390,
  kDivideConfig = 0x3e0,
};

constexpr uint32_t kLvtMasked = 1u << 16;
constexpr uint32_t kLvtTimerPeriodic = 1u << 17;
constexpr int kLvtTimerIndex = 0, kLvtLint0 = 3, kLvtErrorIndex = 5;
// Writable bits of each LVT; the timer's TSC-deadline bit 18 stays clear (not advertised).
constexpr std::array<uint32_t, 6> kLvtWritable{0x300ff, 0x107ff, 0x107ff,
                                               0x1a7ff, 0x1a7ff, 0x100ff};
constexpr uint32_t kSvrWritable = 0x3ff;  // vector, APIC enable, focus check; no EOI suppression
constexpr uint32_t kEsrSendIllegalVector = 1u << 5;
constexpr uint32_t kEsrReceiveIllegalVector = 1u << 6;
constexpr uint32_t kIcrWritable = 0x000c'cfff;  // delivery status (bit 12) always reads idle

}  // namespace vessel::devices::lapic_regs
