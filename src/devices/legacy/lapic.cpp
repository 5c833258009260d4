#include "devices/legacy/lapic.hpp"

#include <algorithm>
#include <utility>

#include "devices/legacy/lapic_registers.hpp"

namespace vessel::devices {

using namespace lapic_regs;

namespace {
thread_local LocalApic* tls_current_apic = nullptr;
}  // namespace

LocalApic::LocalApic(uint8_t apic_id, ApicBus& bus, TimerService& timers, bool bsp)
    : apic_id_(apic_id),
      bus_(bus),
      timers_(timers),
      timer_(timers.add([this] { on_timer(); })),
      apic_base_(kDefaultBase | kApicBaseEnable | (bsp ? kApicBaseBsp : 0)),
      id_reg_(uint32_t{apic_id} << 24) {
  reset_locked();
}

LocalApic::~LocalApic() {
  timers_.remove(timer_);
}

void LocalApic::reset() {
  std::lock_guard lock(mutex_);
  reset_locked();
}

void LocalApic::reset_locked() {
  // Power-up/INIT state (SDM 10.4.7.1).
  tpr_ = ldr_ = esr_ = esr_pending_ = icr_low_ = icr_high_ = 0;
  dfr_ = 0xffff'ffff;
  svr_ = 0xff;
  lvt_.fill(kLvtMasked);
  irr_.clear();
  isr_.clear();
  tmr_.clear();
  nmi_pending_ = false;
  initial_count_ = divide_config_ = 0;
  timer_deadline_ = -1;
  timers_.disarm(timer_);
}

uint8_t LocalApic::id() const {
  std::lock_guard lock(mutex_);
  return static_cast<uint8_t>(id_reg_ >> 24);
}

uint64_t LocalApic::apic_base_msr() const {
  std::lock_guard lock(mutex_);
  return apic_base_;
}

void LocalApic::set_apic_base_msr(uint64_t value) {
  std::lock_guard lock(mutex_);
  // The page stays at 0xfee00000 and the BSP flag is read-only; only the global enable moves.
  // Disabling resets the APIC; it comes back in its power-up state (SDM 10.4.3).
  const bool enable = value & kApicBaseEnable;
  if (!enable && hw_enabled()) reset_locked();
  apic_base_ = (apic_base_ & ~kApicBaseEnable) | (enable ? kApicBaseEnable : 0);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

bool LocalApic::matches(uint8_t destination, bool logical) const {
  std::lock_guard lock(mutex_);
  if (!logical) return destination == 0xff || destination == (id_reg_ >> 24);
  const uint8_t ldr = static_cast<uint8_t>(ldr_ >> 24);
  if ((dfr_ >> 28) == 0xf) return (ldr & destination) != 0;  // flat model: a bit per APIC
  // Cluster model: high nibble the cluster (15 = all), low nibble a bit per member.
  const bool cluster = (destination >> 4) == 0xf || (destination >> 4) == (ldr >> 4);
  return cluster && (ldr & destination & 0xf) != 0;
}

void LocalApic::accept(const ApicMessage& m) {
  std::optional<StartupKind> startup;
  {
    std::lock_guard lock(mutex_);
    switch (m.mode) {
      case DeliveryMode::kFixed:
      case DeliveryMode::kLowestPriority:
        if (m.vector < 16) {
          set_error(kEsrReceiveIllegalVector);
        } else {
          irr_.set(m.vector);
          tmr_.assign(m.vector, m.level_triggered);
        }
        break;
      case DeliveryMode::kNmi:
        nmi_pending_ = true;
        break;
      case DeliveryMode::kInit:
        if (m.assert_level) startup = StartupKind::kInit;
        break;
      case DeliveryMode::kStartup:
        startup = StartupKind::kStartup;
        break;
      default:  // SMI and ExtINT messages have no meaning here
        return;
    }
  }
  if (startup && startup_) startup_(*startup, m.vector);
  wake();
}

void LocalApic::set_lint(int pin, bool level) {
  if (pin != 0 && pin != 1) return;
  {
    std::lock_guard lock(mutex_);
    const bool rising = level && !lint_level_[pin];
    lint_level_[pin] = level;
    const uint32_t lvt = lvt_[kLvtLint0 + pin];
    const uint32_t mode = (lvt >> 8) & 7;
    if (!rising || (lvt & kLvtMasked) || mode == 7) return;  // ExtINT reads the PIC instead
    raise_local(lvt);
  }
  wake();
}

void LocalApic::set_error(uint32_t bit) {
  esr_pending_ |= bit;
  const uint32_t lvt = lvt_[kLvtErrorIndex];
  if (!(lvt & kLvtMasked) && (lvt & 0xff) >= 16) irr_.set(lvt & 0xff), tmr_.reset(lvt & 0xff);
}

void LocalApic::raise_local(uint32_t lvt) {
  if (lvt & kLvtMasked) return;
  const uint32_t mode = (lvt >> 8) & 7;
  if (mode == static_cast<uint32_t>(DeliveryMode::kNmi)) {
    nmi_pending_ = true;
    return;
  }
  const uint8_t vector = lvt & 0xff;
  if (vector < 16) return set_error(kEsrReceiveIllegalVector);
  irr_.set(vector);
  tmr_.reset(vector);
}

uint8_t LocalApic::ppr() const {
  // SDM 10.8.3.1: the processor priority is the TPR or the class of the highest in-service
  // vector, whichever class is higher.
  const int isrv = isr_.highest();
  const uint32_t isr_class = isrv < 0 ? 0 : static_cast<uint32_t>(isrv) & 0xf0;
  return static_cast<uint8_t>((tpr_ & 0xf0) >= isr_class ? tpr_ & 0xff : isr_class);
}

bool LocalApic::extint_enabled() const {
  // With the APIC globally disabled the PIC's INT reaches the CPU directly; otherwise through
  // LINT0 programmed for ExtINT (virtual wire mode, MP spec 3.6.2.2).
  if (!hw_enabled()) return true;
  const uint32_t lvt = lvt_[kLvtLint0];
  return !(lvt & kLvtMasked) && ((lvt >> 8) & 7) == static_cast<uint32_t>(DeliveryMode::kExtInt);
}

LocalApic::Pending LocalApic::pending_locked() const {
  if (extint_ && extint_enabled() && extint_->interrupt_pending()) return Pending::kExtInt;
  if (!hw_enabled() || !sw_enabled()) return Pending::kNone;
  const int v = irr_.highest();
  if (v >= 0 && (static_cast<uint32_t>(v) & 0xf0) > (ppr() & 0xf0u)) return Pending::kVector;
  return Pending::kNone;
}

bool LocalApic::interrupt_pending() {
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (idle_generation_.load(std::memory_order_relaxed) == generation) return false;
  std::lock_guard lock(mutex_);
  const bool pending = pending_locked() != Pending::kNone;
  // A change after `generation` was read bumps it again, so this can only be stale-pending.
  if (!pending) idle_generation_.store(generation, std::memory_order_relaxed);
  return pending;
}

std::optional<uint8_t> LocalApic::acknowledge() {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  std::lock_guard lock(mutex_);
  switch (pending_locked()) {
    case Pending::kExtInt:
      return extint_->acknowledge();  // lock order: LAPIC, then PIC (the PIC never calls back)
    case Pending::kVector: {
      const int v = irr_.highest();
      irr_.reset(v);
      isr_.set(v);
      return static_cast<uint8_t>(v);
    }
    default:
      return std::nullopt;
  }
}

bool LocalApic::take_nmi() {
  return nmi_pending_.load(std::memory_order_relaxed) && nmi_pending_.exchange(false);
}

int LocalApic::end_of_interrupt() {
  const int v = isr_.highest();
  if (v < 0) return -1;
  isr_.reset(v);
  // Level-triggered vectors tell the IOAPIC to clear its remote IRR (SDM 10.8.5).
  return tmr_.test(v) ? v : -1;
}

void LocalApic::wake() {
  generation_.fetch_add(1, std::memory_order_acq_rel);
  if (waker_) waker_->wake();
}

void LocalApic::ExtIntWaker::wake() {
  apic.wake();
}

void LocalApic::bind_to_current_thread(LocalApic* apic) {
  tls_current_apic = apic;
}
LocalApic* LocalApic::current() {
  return tls_current_apic;
}

void LocalApicWindow::read(uint64_t offset, std::span<uint8_t> data) {
  if (LocalApic* apic = LocalApic::current()) return apic->read(offset, data);
  std::fill(data.begin(), data.end(), 0);
}

void LocalApicWindow::write(uint64_t offset, std::span<const uint8_t> data) {
  if (LocalApic* apic = LocalApic::current()) apic->write(offset, data);
}

Result<void> LocalApic::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(apic_base_, id_reg_, tpr_, ldr_, dfr_, svr_, esr_, esr_pending_, icr_low_, icr_high_, lvt_,
      lint_level_, irr_, isr_, tmr_, nmi_pending_.load(), initial_count_, divide_config_,
      timer_start_, timer_deadline_);
  return {};
}

Result<void> LocalApic::load_state(bus::StateReader& in) {
  {
    std::lock_guard lock(mutex_);
    bool nmi = false;
    in(apic_base_, id_reg_, tpr_, ldr_, dfr_, svr_, esr_, esr_pending_, icr_low_, icr_high_, lvt_,
       lint_level_, irr_, isr_, tmr_, nmi, initial_count_, divide_config_, timer_start_,
       timer_deadline_);
    VESSEL_TRY_VOID(in.finish());
    nmi_pending_.store(nmi);
    // The timer's deadline is on the restored VM clock: arm it as it was.
    if (timer_deadline_ >= 0) {
      timers_.arm(timer_, timer_deadline_);
    } else {
      timers_.disarm(timer_);
    }
  }
  wake();  // the CPU's "nothing pending" answer must be asked again
  return {};
}

}  // namespace vessel::devices
