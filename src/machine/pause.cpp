// Pausing: vCPU threads park between two run() calls (an instruction boundary: the software CPU
// stops between instructions, KVM returns from KVM_RUN with immediate_exit), and the VM's time
// stands still meanwhile, so that neither the guest's TSC nor its device timers jump by the
// time spent paused.
#include "base/log.hpp"
#include "machine/machine.hpp"

namespace vessel::machine {

bool Machine::enter_guest() {
  std::unique_lock lock(pause_mutex_);
  pause_cv_.wait(lock, [&] { return !paused_ || stopping_.load(); });
  if (stopping_.load()) return false;
  ++active_;
  return true;
}

void Machine::leave_guest() {
  std::lock_guard lock(pause_mutex_);
  --active_;
  pause_cv_.notify_all();
}

bool Machine::paused() const {
  std::lock_guard lock(pause_mutex_);
  return paused_;
}

Result<void> Machine::pause() {
  {
    std::lock_guard lock(pause_mutex_);
    if (paused_) return {};
    paused_ = true;
  }
  // A vCPU that entered run() before paused_ was set is kicked out of it (a kick that lands
  // between two runs makes the next one return at once); the others park in enter_guest().
  for (auto& vcpu : vcpus_) vcpu->kick();
  {
    std::unique_lock lock(pause_mutex_);
    pause_cv_.wait(lock, [&] { return active_ == 0 || stopping_.load(); });
  }
  // Now nothing runs guest code: stop the time line and the device timers on it.
  clock_.pause();
  if (timers_) timers_->pause();
  if (engine_->name() != "emu") {
    // KVM's TSC follows the host's: remember it to put it back on resume.
    paused_tsc_.assign(vcpus_.size(), 0);
    for (size_t i = 0; i < vcpus_.size(); ++i)
      if (auto s = vcpus_[i]->state()) paused_tsc_[i] = s->tsc;
  }
  log::info("VM paused");
  return {};
}

Result<void> Machine::resume() {
  if (!paused()) return {};
  for (size_t i = 0; i < paused_tsc_.size() && i < vcpus_.size(); ++i) {
    auto s = VESSEL_TRY(vcpus_[i]->state());
    s.tsc = paused_tsc_[i];
    VESSEL_TRY_VOID(vcpus_[i]->set_state(s));
  }
  paused_tsc_.clear();
  clock_.resume();
  if (timers_) timers_->resume();
  {
    std::lock_guard lock(pause_mutex_);
    paused_ = false;
  }
  pause_cv_.notify_all();
  log::info("VM resumed");
  return {};
}

Result<void> Machine::press_ctrl_alt_del() {
  return platform_->press_ctrl_alt_del();
}

Machine::Counters Machine::counters() const {
  Counters c;
  c.vcpu_exits_interrupted = kicked_exits_.load(std::memory_order_relaxed);
  c.vcpu_failures = vcpu_failures_.load(std::memory_order_relaxed);
  c.pio_reads = buses_.pio.reads();
  c.pio_writes = buses_.pio.writes();
  c.mmio_reads = buses_.mmio.reads();
  c.mmio_writes = buses_.mmio.writes();
  if (platform_) {
    const auto uart = platform_->console_counters();
    c.uart_read_bytes = uart.first;
    c.uart_write_bytes = uart.second;
    c.virtio = platform_->virtio_counters();
  }
  return c;
}

}  // namespace vessel::machine
