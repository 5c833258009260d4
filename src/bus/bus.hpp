// Bus: one address space of device ranges (port I/O or MMIO). Ranges never overlap: a second
// registration that would is refused. An access that hits no device reads as all-ones, is
// dropped on write, and is counted: a guest poking at nothing never crashes the VMM.
//
// Ranges are registered while the machine is built and looked up concurrently by vCPU threads
// afterwards; lookups take a shared lock so later hot-plug (PCI BAR moves) stays safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "bus/io_device.hpp"

namespace vessel::bus {

class Bus {
 public:
  explicit Bus(std::string name) : name_(std::move(name)) {}

  Result<void> add(uint64_t base, uint64_t size, std::shared_ptr<IoDevice> device);
  Result<void> remove(uint64_t base);

  // Returns false (after filling `data` with 0xff) when no device claims `addr`.
  bool read(uint64_t addr, std::span<uint8_t> data);
  bool write(uint64_t addr, std::span<const uint8_t> data);

  uint64_t unhandled_accesses() const { return unhandled_.load(std::memory_order_relaxed); }
  // Accesses so far, handled or not (the metrics' exit counts).
  uint64_t reads() const { return reads_.load(std::memory_order_relaxed); }
  uint64_t writes() const { return writes_.load(std::memory_order_relaxed); }
  const std::string& name() const { return name_; }

 private:
  struct Range {
    uint64_t base;
    uint64_t size;
    std::shared_ptr<IoDevice> device;
  };
  // Finds the range holding [addr, addr+len); nullptr if none holds all of it.
  const Range* find(uint64_t addr, uint64_t len) const;

  std::string name_;
  mutable std::shared_mutex mutex_;
  std::vector<Range> ranges_;  // sorted by base, disjoint
  std::atomic<uint64_t> unhandled_{0};
  std::atomic<uint64_t> reads_{0}, writes_{0};
};

// What an engine calls for guest port I/O and MMIO. Answered during the vCPU's run, on the
// vCPU's thread, so the software engine can get an MMIO value in the middle of an instruction.
class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void pio_read(uint16_t port, std::span<uint8_t> data) = 0;
  virtual void pio_write(uint16_t port, std::span<const uint8_t> data) = 0;
  virtual void mmio_read(uint64_t gpa, std::span<uint8_t> data) = 0;
  virtual void mmio_write(uint64_t gpa, std::span<const uint8_t> data) = 0;
};

// The machine's two buses behind the IoHandler interface.
class Buses final : public IoHandler {
 public:
  Bus pio{"pio"};
  Bus mmio{"mmio"};

  void pio_read(uint16_t port, std::span<uint8_t> data) override { pio.read(port, data); }
  void pio_write(uint16_t port, std::span<const uint8_t> data) override { pio.write(port, data); }
  void mmio_read(uint64_t gpa, std::span<uint8_t> data) override { mmio.read(gpa, data); }
  void mmio_write(uint64_t gpa, std::span<const uint8_t> data) override { mmio.write(gpa, data); }
};

}  // namespace vessel::bus
