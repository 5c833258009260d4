#include "boot/e820.hpp"

#include <algorithm>

#include "boot/layout.hpp"

namespace vessel::boot {
namespace {

// Removes [cut.base, cut.end()) from every RAM entry, splitting entries where needed.
std::vector<E820Entry> subtract(const std::vector<E820Entry>& ram, const AddressRange& cut) {
  std::vector<E820Entry> out;
  for (const E820Entry& e : ram) {
    const uint64_t end = e.addr + e.size;
    if (cut.end() <= e.addr || cut.base >= end) {
      out.push_back(e);
      continue;
    }
    if (cut.base > e.addr) out.push_back({e.addr, cut.base - e.addr, E820Type::kRam});
    if (cut.end() < end) out.push_back({cut.end(), end - cut.end(), E820Type::kRam});
  }
  return out;
}

}  // namespace

Result<std::vector<E820Entry>> build_e820(const memory::GuestMemory& memory,
                                          const PlatformInfo& platform) {
  if (memory.ram_size() < layout::kHighMemory)
    return fail("guest RAM of {} KiB is too small for Linux (at least 1 MiB)",
                memory.ram_size() >> 10);
  std::vector<E820Entry> ram;
  for (const memory::Region& r : memory.regions()) ram.push_back({r.gpa, r.size, E820Type::kRam});

  std::vector<AddressRange> reserved = platform.reserved;
  reserved.push_back(
      {layout::kReservedLowStart, layout::kReservedLowEnd - layout::kReservedLowStart});
  for (const AddressRange& r : reserved) {
    if (r.size == 0 || r.end() < r.base)
      return fail("bad reserved range {:#x}+{:#x}", r.base, r.size);
    ram = subtract(ram, r);
  }

  std::vector<E820Entry> map = ram;
  for (const AddressRange& r : reserved) map.push_back({r.base, r.size, E820Type::kReserved});
  std::sort(map.begin(), map.end(),
            [](const E820Entry& a, const E820Entry& b) { return a.addr < b.addr; });
  // Reserved ranges given by the platform may overlap each other; RAM never overlaps them.
  for (size_t i = 1; i < map.size(); ++i)
    if (map[i - 1].addr + map[i - 1].size > map[i].addr)
      return fail("reserved ranges overlap at {:#x}", map[i].addr);
  if (map.size() > kE820MaxEntries)
    return fail("e820 map has {} entries, more than {}", map.size(), kE820MaxEntries);
  return map;
}

}  // namespace vessel::boot
