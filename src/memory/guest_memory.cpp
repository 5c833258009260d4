#include "memory/guest_memory.hpp"

#include <algorithm>

namespace vessel::memory {

Result<GuestMemory> GuestMemory::create(uint64_t ram_bytes) {
  if (ram_bytes == 0 || ram_bytes % kPageSize != 0)
    return fail("guest memory size {} is not a non-zero multiple of 4 KiB", ram_bytes);
  GuestMemory mem;
  mem.ram_size_ = ram_bytes;
  const uint64_t low = std::min(ram_bytes, kMmioHoleStart);
  const uint64_t high = ram_bytes - low;
  auto add = [&mem](uint64_t gpa, uint64_t size) -> Result<void> {
    auto mapping = VESSEL_TRY(Mapping::anonymous(size));
    mem.regions_.push_back(Region{gpa, size, mapping.data()});
    mem.mappings_.push_back(std::move(mapping));
    return {};
  };
  VESSEL_TRY_VOID(add(0, low));
  if (high > 0) VESSEL_TRY_VOID(add(kMmioHoleEnd, high));
  return mem;
}

const Region* GuestMemory::region_of(uint64_t gpa) const {
  for (const Region& r : regions_)
    if (r.contains(gpa)) return &r;
  return nullptr;
}

uint8_t* GuestMemory::host_address(uint64_t gpa) const {
  const Region* r = region_of(gpa);
  return r ? r->host + (gpa - r->gpa) : nullptr;
}

Result<std::span<uint8_t>> GuestMemory::span(uint64_t gpa, uint64_t len) const {
  const Region* r = region_of(gpa);
  // `len <= r->end() - gpa` cannot overflow, unlike `gpa + len <= end`.
  if (!r || len > r->end() - gpa)
    return fail("guest range [{:#x}, +{:#x}) is not guest RAM", gpa, len);
  return std::span<uint8_t>(r->host + (gpa - r->gpa), len);
}

Result<void> GuestMemory::read(uint64_t gpa, std::span<uint8_t> out) const {
  auto src = VESSEL_TRY(span(gpa, out.size()));
  std::memcpy(out.data(), src.data(), out.size());
  return {};
}

Result<void> GuestMemory::write(uint64_t gpa, std::span<const uint8_t> in) const {
  auto dst = VESSEL_TRY(span(gpa, in.size()));
  std::memcpy(dst.data(), in.data(), in.size());
  note_device_write(gpa, in.size());
  return {};
}

}  // namespace vessel::memory
