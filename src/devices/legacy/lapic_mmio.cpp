// LocalApic: the register page (reads and writes of the xAPIC MMIO registers).
#include <algorithm>
#include <utility>

#include "devices/legacy/lapic.hpp"
#include "devices/legacy/lapic_registers.hpp"

namespace vessel::devices {

using namespace lapic_regs;

void LocalApic::read(uint64_t offset, std::span<uint8_t> data) {
  // Registers are 32 bits wide on 16-byte boundaries; narrower reads see their bytes, the
  // 12 bytes after each register read as zero.
  const uint32_t reg = static_cast<uint32_t>(offset & 0xff0);
  const unsigned byte = offset & 0xf;
  uint64_t value = 0;
  if (byte < 4 && offset < kMmioSize) {
    std::lock_guard lock(mutex_);
    value = read_register(reg, timers_.clock().now_ns()) >> (8 * byte);
  }
  bus::store_le(data, value);
}

void LocalApic::write(uint64_t offset, std::span<const uint8_t> data) {
  // Only aligned accesses reach a register (SDM 10.4.1: others are undefined; dropped here).
  if ((offset & 0xf) != 0 || offset >= kMmioSize) return;
  const uint32_t value = static_cast<uint32_t>(bus::load_le(data));
  std::optional<ApicMessage> ipi;
  int shorthand = 0, eoi_vector = -1;
  {
    std::lock_guard lock(mutex_);
    write_register(static_cast<uint32_t>(offset), value, timers_.clock().now_ns(), ipi, shorthand,
                   eoi_vector);
  }
  if (eoi_vector >= 0) bus_.broadcast_eoi(static_cast<uint8_t>(eoi_vector));
  if (ipi) {
    switch (shorthand) {
      case 0:
        bus_.deliver(*ipi);
        break;
      case 1:
        bus_.deliver_to_self(*ipi, this);
        break;
      case 2:
        bus_.deliver_to_all(*ipi, nullptr);
        break;
      default:
        bus_.deliver_to_all(*ipi, this);
        break;
    }
  }
  wake();  // an EOI or a TPR drop may have unmasked a pending interrupt
}

uint32_t LocalApic::read_register(uint32_t reg, int64_t now) const {
  if (reg >= kIsr && reg < kIsr + 0x80) return isr_.word32((reg - kIsr) / 0x10);
  if (reg >= kTmr && reg < kTmr + 0x80) return tmr_.word32((reg - kTmr) / 0x10);
  if (reg >= kIrr && reg < kIrr + 0x80) return irr_.word32((reg - kIrr) / 0x10);
  if (reg >= kLvtTimer && reg <= kLvtError) return lvt_[(reg - kLvtTimer) / 0x10];
  switch (reg) {
    case kId:
      return id_reg_;
    case kVersion:
      return kApicVersion;
    case kTpr:
      return tpr_;
    case kApr:
      return 0;  // arbitration priority: unused by this bus model
    case kPpr:
      return ppr();
    case kLdr:
      return ldr_;
    case kDfr:
      return dfr_;
    case kSvr:
      return svr_;
    case kEsr:
      return esr_;
    case kIcrLow:
      return icr_low_;
    case kIcrHigh:
      return icr_high_;
    case kInitialCount:
      return initial_count_;
    case kCurrentCount:
      return current_count(now);
    case kDivideConfig:
      return divide_config_;
    default:
      return 0;  // EOI is write-only; reserved offsets read as zero
  }
}

void LocalApic::write_register(uint32_t reg, uint32_t value, int64_t now,
                               std::optional<ApicMessage>& ipi, int& shorthand, int& eoi_vector) {
  if (reg >= kLvtTimer && reg <= kLvtError) return write_lvt((reg - kLvtTimer) / 0x10, value, now);
  switch (reg) {
    case kId:
      id_reg_ = value & 0xff00'0000;
      break;
    case kTpr:
      tpr_ = value & 0xff;
      break;
    case kEoi:
      eoi_vector = end_of_interrupt();
      break;
    case kLdr:
      ldr_ = value & 0xff00'0000;
      break;
    case kDfr:
      dfr_ = value | 0x0fff'ffff;
      break;
    case kSvr:
      svr_ = value & kSvrWritable;
      // Software disable masks every LVT (SDM 10.4.7.2).
      if (!sw_enabled()) {
        for (auto& lvt : lvt_) lvt |= kLvtMasked;
      }
      break;
    case kEsr:
      // A write latches the errors seen since the last one (SDM 10.5.3).
      esr_ = std::exchange(esr_pending_, 0);
      break;
    case kIcrLow:
      write_icr(value, ipi, shorthand);
      break;
    case kIcrHigh:
      icr_high_ = value & 0xff00'0000;
      break;
    case kInitialCount:
      initial_count_ = value;
      start_timer(now);
      break;
    case kDivideConfig:
      // Approximation: the count continues from the same start with the new divisor.
      divide_config_ = value & 0xb;
      schedule_timer(now);
      break;
    default:
      break;  // read-only and reserved registers ignore writes
  }
}

void LocalApic::write_lvt(int index, uint32_t value, int64_t now) {
  uint32_t v = (lvt_[index] & ~kLvtWritable[index]) | (value & kLvtWritable[index]);
  if (!sw_enabled()) v |= kLvtMasked;
  lvt_[index] = v;
  if (index == kLvtTimerIndex) schedule_timer(now);  // one-shot/periodic may have changed
}

void LocalApic::write_icr(uint32_t value, std::optional<ApicMessage>& ipi, int& shorthand) {
  icr_low_ = value & kIcrWritable;
  const auto mode = static_cast<DeliveryMode>((value >> 8) & 7);
  const uint8_t vector = value & 0xff;
  const bool level_assert = value & (1u << 14);
  const bool level_triggered = value & (1u << 15);
  if ((mode == DeliveryMode::kFixed || mode == DeliveryMode::kLowestPriority) && vector < 16) {
    return set_error(kEsrSendIllegalVector);
  }
  // INIT level de-assert only synchronises arbitration IDs (SDM 10.6.1): nothing to deliver.
  if (mode == DeliveryMode::kInit && level_triggered && !level_assert) return;
  shorthand = (value >> 18) & 3;
  ipi = ApicMessage{.vector = vector,
                    .mode = mode,
                    .logical = (value & (1u << 11)) != 0,
                    .destination = static_cast<uint8_t>(icr_high_ >> 24),
                    .level_triggered = level_triggered,
                    .assert_level = true};
}

}  // namespace vessel::devices
