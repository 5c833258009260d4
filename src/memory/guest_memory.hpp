// GuestMemory: the guest's physical RAM. Regions of anonymous host memory placed at guest
// physical addresses, with a hole below 4 GiB where devices (PCI, LAPIC, IOAPIC) live.
// Every access is bounds-checked: an address or length outside RAM is an error value, never
// a host out-of-bounds access. It knows nothing of devices or engines.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "base/mapping.hpp"
#include "base/result.hpp"
#include "memory/device_write_log.hpp"

namespace vessel::memory {

// The PC layout: RAM from 0 up to the hole, the rest of RAM from 4 GiB upwards.
inline constexpr uint64_t kMmioHoleStart = 0xC000'0000;  // 3 GiB
inline constexpr uint64_t kMmioHoleEnd = 0x1'0000'0000;  // 4 GiB
inline constexpr uint64_t kPageSize = 4096;

struct Region {
  uint64_t gpa;  // first guest-physical address
  uint64_t size;
  uint8_t* host;  // host address of `gpa`
  uint64_t end() const { return gpa + size; }
  bool contains(uint64_t addr) const { return addr >= gpa && addr - gpa < size; }
};

class GuestMemory {
 public:
  // Reserves `ram_bytes` of guest RAM (a multiple of 4 KiB, at least one page).
  static Result<GuestMemory> create(uint64_t ram_bytes);

  GuestMemory(GuestMemory&&) = default;
  GuestMemory& operator=(GuestMemory&&) = default;

  std::span<const Region> regions() const { return regions_; }
  uint64_t ram_size() const { return ram_size_; }

  // The host bytes for [gpa, gpa+len); the range must lie in one region. The span cannot
  // overrun the region, so devices may read and write it directly (zero-copy I/O).
  Result<std::span<uint8_t>> span(uint64_t gpa, uint64_t len) const;

  // Host address of one guest-physical byte, or nullptr when `gpa` is not RAM. For the
  // software MMU's fast path, which then knows how far the region reaches (`region_of`).
  uint8_t* host_address(uint64_t gpa) const;
  const Region* region_of(uint64_t gpa) const;

  // Copies that may cross from one region into an adjacent one are refused like any
  // other range that is not wholly RAM.
  Result<void> read(uint64_t gpa, std::span<uint8_t> out) const;
  Result<void> write(uint64_t gpa, std::span<const uint8_t> in) const;

  // Devices that write guest RAM through span() (DMA) say so here, so software CPUs can drop
  // code they cached for those pages; write() records itself.
  void note_device_write(uint64_t gpa, uint64_t len) const { write_log_->record(gpa, len); }
  const DeviceWriteLog& device_writes() const { return *write_log_; }

  template <class T>
  requires std::is_trivially_copyable_v<T> Result<T> read_obj(uint64_t gpa)
  const {
    T value;
    VESSEL_TRY_VOID(read(gpa, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&value), sizeof(T))));
    return value;
  }
  template <class T>
  requires std::is_trivially_copyable_v<T> Result<void> write_obj(uint64_t gpa, const T& value)
  const {
    return write(gpa,
                 std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), sizeof(T)));
  }

 private:
  GuestMemory() = default;
  std::vector<Mapping> mappings_;
  std::vector<Region> regions_;
  uint64_t ram_size_ = 0;
  // Shared so that GuestMemory stays movable; one log per VM.
  std::shared_ptr<DeviceWriteLog> write_log_ = std::make_shared<DeviceWriteLog>();
};

}  // namespace vessel::memory
