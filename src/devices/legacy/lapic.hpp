// Local APIC in xAPIC mode (Intel SDM Vol. 3A chapter 10), one per vCPU, MMIO page at
// 0xfee00000. Modelled: ID, version 0x50014 (6 LVT entries, no EOI-broadcast suppression),
// TPR/PPR, EOI (broadcast to the IOAPIC for level-triggered vectors), LDR/DFR (flat and cluster
// logical addressing), SVR (software enable, spurious vector), the 256-bit ISR/TMR/IRR, ESR,
// ICR (fixed, lowest-priority, NMI, INIT and SIPI with all shorthands), the LVTs (timer,
// thermal, perf, LINT0, LINT1, error) and the timer in one-shot and periodic modes.
// Not modelled: x2APIC, TSC-deadline mode (CPUID must not advertise it), relocating the MMIO
// page through IA32_APIC_BASE, remote read, level-triggered LINT inputs (remote IRR).
//
// The timer counts at kBusHz (1 GHz: one tick per nanosecond before the divider) following the
// Clock; Linux calibrates it against the PIT, so only consistency matters.
//
// Wiring (by the machine, for the software engine), per vCPU i:
//   auto lapic = std::make_shared<LocalApic>(i, apic_bus, timers, /*bsp=*/i == 0);
//   apic_bus.attach(lapic.get());
//   lapic->set_waker(&vcpu_waker);               // wakes the vCPU from HLT
//   lapic->set_startup_handler(...);             // INIT/SIPI for this vCPU
//   the vCPU's InterruptController is the lapic; its IA32_APIC_BASE MSR maps to
//   apic_base_msr()/set_apic_base_msr(); its thread calls LocalApic::bind_to_current_thread().
// Once: buses.mmio.add(LocalApic::kDefaultBase, LocalApic::kMmioSize,
//                      std::make_shared<LocalApicWindow>());
// Virtual wire on the BSP: lapic->set_extint_source(pic.get());
//                          pic->set_output_waker(&lapic->extint_waker());
//
// Thread safety: one mutex per LAPIC; messages to other APICs, EOI broadcasts, the waker and
// the startup handler are called with it released.
#pragma once

#include <atomic>

#include <array>
#include <bit>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

#include "base/timer_queue.hpp"
#include "bus/device_state.hpp"
#include "bus/interrupt_controller.hpp"
#include "bus/io_device.hpp"
#include "devices/legacy/apic_bus.hpp"

namespace vessel::devices {

// The 256-bit IRR/ISR/TMR registers, with a fast highest-set-bit scan.
class VectorSet {
 public:
  bool test(unsigned v) const { return (w_[v / 64] >> (v % 64)) & 1; }
  void set(unsigned v) { w_[v / 64] |= uint64_t{1} << (v % 64); }
  void reset(unsigned v) { w_[v / 64] &= ~(uint64_t{1} << (v % 64)); }
  void assign(unsigned v, bool on) { on ? set(v) : reset(v); }
  void clear() { w_ = {}; }
  int highest() const {
    for (int i = 3; i >= 0; --i) {
      if (w_[i]) return i * 64 + 63 - std::countl_zero(w_[i]);
    }
    return -1;
  }
  uint32_t word32(unsigned i) const { return static_cast<uint32_t>(w_[i / 2] >> (32 * (i % 2))); }

 private:
  std::array<uint64_t, 4> w_{};
};

class LocalApic final : public bus::IoDevice,
                        public bus::InterruptController,
                        public bus::Stateful {
 public:
  // Snapshots (bus/device_state.hpp).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  static constexpr uint64_t kDefaultBase = 0xfee0'0000;
  static constexpr uint64_t kMmioSize = 0x1000;
  static constexpr uint64_t kBusHz = 1'000'000'000;
  static constexpr uint32_t kApicVersion = 0x0005'0014;
  static constexpr uint64_t kApicBaseEnable = 1u << 11;
  static constexpr uint64_t kApicBaseBsp = 1u << 8;

  enum class StartupKind { kInit, kStartup };
  // Called on INIT (vector unused) and SIPI (vector = start page number).
  using StartupHandler = std::function<void(StartupKind, uint8_t vector)>;

  LocalApic(uint8_t apic_id, ApicBus& bus, TimerService& timers, bool bsp);
  ~LocalApic() override;
  LocalApic(const LocalApic&) = delete;
  LocalApic& operator=(const LocalApic&) = delete;

  void set_waker(bus::InterruptWaker* waker) { waker_ = waker; }
  void set_extint_source(bus::InterruptController* pic) { extint_ = pic; }
  void set_startup_handler(StartupHandler handler) { startup_ = std::move(handler); }
  // What the PIC calls when its INT output rises (virtual wire through LINT0).
  bus::InterruptWaker& extint_waker() { return extint_waker_; }

  uint8_t id() const;
  uint64_t apic_base_msr() const;
  void set_apic_base_msr(uint64_t value);
  // INIT: every register back to its power-up value except the ID and IA32_APIC_BASE.
  void reset();

  // The APIC-bus side.
  bool matches(uint8_t destination, bool logical) const;
  void accept(const ApicMessage& message);
  // LINT0/LINT1 pins for fixed and NMI delivery (ExtINT on LINT0 goes through the PIC source).
  void set_lint(int pin, bool level);

  std::string_view name() const override { return "lapic"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  bool interrupt_pending() override;
  std::optional<uint8_t> acknowledge() override;
  bool take_nmi() override;

  // Which LAPIC the MMIO window at 0xfee00000 means on this thread (each vCPU thread binds its
  // own; accesses from an unbound thread read as zero and are dropped).
  static void bind_to_current_thread(LocalApic* apic);
  static LocalApic* current();

 private:
  enum class Pending { kNone, kExtInt, kVector };
  struct ExtIntWaker final : bus::InterruptWaker {
    explicit ExtIntWaker(LocalApic& a) : apic(a) {}
    void wake() override;
    LocalApic& apic;
  };

  uint32_t read_register(uint32_t reg, int64_t now) const;
  // Returns a message to send (an IPI) or an EOI vector to broadcast, outside the lock.
  void write_register(uint32_t reg, uint32_t value, int64_t now, std::optional<ApicMessage>& ipi,
                      int& shorthand, int& eoi_vector);
  void write_lvt(int index, uint32_t value, int64_t now);
  void write_icr(uint32_t value, std::optional<ApicMessage>& ipi, int& shorthand);
  int end_of_interrupt();  // returns the vector to broadcast, or -1
  void set_error(uint32_t bit);
  void raise_local(uint32_t lvt);  // an LVT-sourced edge interrupt
  void reset_locked();

  bool hw_enabled() const { return apic_base_ & kApicBaseEnable; }
  bool sw_enabled() const { return svr_ & 0x100; }
  uint8_t ppr() const;
  Pending pending_locked() const;
  bool extint_enabled() const;

  // Timer (lapic_timer.cpp).
  uint64_t divisor() const;
  bool timer_periodic() const;
  uint32_t current_count(int64_t now) const;
  void start_timer(int64_t now);
  void schedule_timer(int64_t now);  // arms the timer for the next expiry of the current setup
  void on_timer();

  void wake();

  const uint8_t apic_id_;
  ApicBus& bus_;
  TimerService& timers_;
  TimerId timer_;
  ExtIntWaker extint_waker_{*this};
  bus::InterruptWaker* waker_ = nullptr;
  bus::InterruptController* extint_ = nullptr;
  StartupHandler startup_;

  mutable std::mutex mutex_;
  uint64_t apic_base_;
  uint32_t id_reg_;
  uint32_t tpr_ = 0, ldr_ = 0, dfr_ = 0xffff'ffff, svr_ = 0xff;
  uint32_t esr_ = 0, esr_pending_ = 0;
  uint32_t icr_low_ = 0, icr_high_ = 0;
  std::array<uint32_t, 6> lvt_{};  // timer, thermal, perf, LINT0, LINT1, error
  std::array<bool, 2> lint_level_{};
  VectorSet irr_, isr_, tmr_;
  std::atomic<bool> nmi_pending_{false};
  // Lock-free "nothing pending" fast path for the CPU, which asks before every block:
  // generation_ moves on every change that could make an interrupt deliverable (all of which go
  // through wake()), and idle_generation_ records the generation at which nothing was.
  std::atomic<uint64_t> generation_{1};
  std::atomic<uint64_t> idle_generation_{0};
  uint32_t initial_count_ = 0, divide_config_ = 0;
  int64_t timer_start_ = 0;
  int64_t timer_deadline_ = -1;  // next expiry the timer is armed for (-1: none)
};

// The MMIO page at 0xfee00000, dispatching to the calling vCPU thread's LocalApic.
class LocalApicWindow final : public bus::IoDevice {
 public:
  std::string_view name() const override { return "lapic"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;
};

}  // namespace vessel::devices
