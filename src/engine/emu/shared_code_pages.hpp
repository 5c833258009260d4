// SharedCodePages: which vCPUs of a VM hold decoded (or translated) code for each guest-physical
// page, one bit per vCPU. Each software CPU keeps its own code cache, so a write by one vCPU to a
// page another vCPU runs code from (cross-modifying code: Linux patching its text with
// text_poke while other CPUs run, a process loading code one CPU will run) must reach the
// others: a page held by anyone takes the slow write path on every vCPU (fill_tlb), and a slow
// write to a page held by another vCPU is logged in GuestMemory's write log, which every vCPU
// reads at its block boundaries. marks() counts new holders, so a vCPU can withdraw the fast
// write path from TLB entries it filled before another vCPU started running code there.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace vessel::engine::emu {

class SharedCodePages {
 public:
  explicit SharedCodePages(uint64_t pages)
      : pages_(pages), holders_(std::make_unique<std::atomic<uint64_t>[]>(pages)) {}

  // Returns the marks() count before this call when `cpu` became a holder of `page`,
  // else marks() (nothing changed).
  uint64_t add(uint64_t page, unsigned cpu) {
    if (page >= pages_) return marks();
    const uint64_t bit = bit_of(cpu);
    if (holders_[page].fetch_or(bit, std::memory_order_acq_rel) & bit) return marks();
    return marks_.fetch_add(1, std::memory_order_acq_rel);
  }
  void remove(uint64_t page, unsigned cpu) {
    if (page < pages_) holders_[page].fetch_and(~bit_of(cpu), std::memory_order_acq_rel);
  }
  bool held(uint64_t page) const { return holders(page) != 0; }
  bool held_by_others(uint64_t page, unsigned cpu) const { return holders(page) & ~bit_of(cpu); }
  uint64_t marks() const { return marks_.load(std::memory_order_acquire); }

 private:
  // More than 64 vCPUs share bits, which only costs extra invalidations.
  static uint64_t bit_of(unsigned cpu) { return uint64_t{1} << (cpu % 64); }
  uint64_t holders(uint64_t page) const {
    return page < pages_ ? holders_[page].load(std::memory_order_acquire) : 0;
  }

  uint64_t pages_;
  std::unique_ptr<std::atomic<uint64_t>[]> holders_;
  std::atomic<uint64_t> marks_{0};
};

}  // namespace vessel::engine::emu
