#include "devices/legacy/acpi_pm.hpp"

namespace vessel::devices {

using namespace acpi_pm;

namespace {
// The register block spans 0x600-0x60b: event 0x600, control 0x604, a gap, timer 0x608.
constexpr uint16_t kStatusOffset = 0, kEnableOffset = 2, kControlOffset = 4, kTimerOffset = 8;
constexpr uint16_t kEnableWritable = 0x0521;  // TMR_EN, GBL_EN, PWRBTN_EN, RTC_EN
}  // namespace

AcpiPm::AcpiPm(const Clock& clock, bus::VmControl& control)
    : clock_(clock), control_(control), origin_ns_(clock.now_ns()) {}

uint64_t AcpiPm::timer_ticks() const {
  return ticks_in(clock_.now_ns() - origin_ns_, kPmTimerHz);
}

uint16_t AcpiPm::status() {
  // TMR_STS: set whenever bit 23 of the timer toggled since software last cleared it.
  return (timer_ticks() >> 23) != timer_epoch_ ? kPm1StsTimer : 0;
}

void AcpiPm::read(uint64_t port, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  // Assemble the block's bytes so any access width sees consistent little-endian registers.
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t p = port + i;
    uint8_t v = 0xff;
    if (p == kResetPort) {
      v = reset_reg_;
    } else if (p >= kPm1aEventPort && p < kPm1aEventPort + 12) {
      const unsigned off = static_cast<unsigned>(p - kPm1aEventPort);
      uint32_t reg = 0;
      unsigned shift = 0;
      if (off < kEnableOffset) {
        reg = status(), shift = off - kStatusOffset;
      } else if (off < kControlOffset) {
        reg = enable_, shift = off - kEnableOffset;
      } else if (off < kControlOffset + 2) {
        reg = control_reg_, shift = off - kControlOffset;
      } else if (off >= kTimerOffset) {
        reg = static_cast<uint32_t>(timer_ticks() & 0xff'ffff), shift = off - kTimerOffset;
      }
      v = static_cast<uint8_t>(reg >> (8 * shift));
    }
    data[i] = v;
  }
}

void AcpiPm::write(uint64_t port, std::span<const uint8_t> data) {
  bool power_off = false, reset = false;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size(); ++i) {
      const uint64_t p = port + i;
      const uint8_t v = data[i];
      if (p == kResetPort) {
        // Bit 2 (RST_CPU) going from 0 to 1 resets; bit 1 picks a hard reset (same here).
        if ((v & 0x04) && !(reset_reg_ & 0x04)) reset = true;
        reset_reg_ = v & 0x0a;
        continue;
      }
      if (p < kPm1aEventPort || p >= kPm1aEventPort + kTimerOffset) continue;  // timer: RO
      const unsigned off = static_cast<unsigned>(p - kPm1aEventPort);
      const unsigned shift = 8 * (off & 1);
      if (off < kEnableOffset) {
        // PM1_STS is write-1-to-clear; only TMR_STS can be set here.
        if ((uint32_t{v} << shift) & kPm1StsTimer) timer_epoch_ = timer_ticks() >> 23;
      } else if (off < kControlOffset) {
        const uint16_t mask = static_cast<uint16_t>(0xff << shift);
        enable_ =
            static_cast<uint16_t>((enable_ & ~mask) | ((v << shift) & mask & kEnableWritable));
      } else if (off < kControlOffset + 2) {
        const uint16_t value = static_cast<uint16_t>(v << shift);
        const uint16_t mask = static_cast<uint16_t>(0xff << shift);
        // SLP_EN is write-only and SCI_EN stays set (no legacy mode to return to).
        control_reg_ =
            static_cast<uint16_t>(((control_reg_ & ~mask) | (value & mask)) & ~kPm1CntSlpEn) |
            kPm1CntSciEn;
        const unsigned slp_typ = (control_reg_ >> kPm1CntSlpTypShift) & 7;
        if ((value & kPm1CntSlpEn) && slp_typ == kSlpTypS5) power_off = true;
      }
    }
  }
  if (power_off) control_.request_exit(0, "guest powered off");
  if (reset) control_.request_reset("reset through port 0xcf9");
}

Result<void> AcpiPm::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(origin_ns_, enable_, control_reg_, timer_epoch_, reset_reg_);
  return {};
}

Result<void> AcpiPm::load_state(bus::StateReader& in) {
  std::lock_guard lock(mutex_);
  in(origin_ns_, enable_, control_reg_, timer_epoch_, reset_reg_);
  return in.finish();
}

}  // namespace vessel::devices
