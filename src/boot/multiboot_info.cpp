#include "boot/multiboot_info.hpp"

#include <algorithm>
#include <array>
#include <span>
#include <vector>

namespace vessel::boot {
namespace {

// The PC's legacy hole between conventional memory and 1 MiB (VGA memory, option and BIOS
// ROMs): reported as reserved although our RAM backs it, as a real PC's map would.
constexpr uint64_t kLowMemoryEnd = 0xA0000;
constexpr uint64_t kHighMemoryStart = 0x100000;
constexpr size_t kInfoSize = 88;  // through vbe_interface_len (§3.3)
constexpr size_t kMaxMmapEntries = (kMultibootModsAddress - kMultibootMmapAddress) / 24;

struct MmapEntry {
  uint64_t base, length;
  uint32_t type;
};

std::vector<MmapEntry> memory_map(const memory::GuestMemory& memory) {
  std::vector<MmapEntry> map;
  for (const memory::Region& r : memory.regions()) {
    if (r.gpa != 0) {
      map.push_back({r.gpa, r.size, kMmapAvailable});
      continue;
    }
    map.push_back({0, std::min(r.size, kLowMemoryEnd), kMmapAvailable});
    if (r.size > kLowMemoryEnd)
      map.push_back(
          {kLowMemoryEnd, std::min(r.size, kHighMemoryStart) - kLowMemoryEnd, kMmapReserved});
    if (r.size > kHighMemoryStart)
      map.push_back({kHighMemoryStart, r.size - kHighMemoryStart, kMmapAvailable});
  }
  return map;
}

template <size_t N>
void put32(std::array<uint8_t, N>& buf, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) buf[off + i] = static_cast<uint8_t>(v >> (8 * i));
}

// A NUL-terminated string at `gpa`, at most `capacity` bytes including the NUL.
Result<void> write_string(const memory::GuestMemory& memory, uint64_t gpa, uint64_t capacity,
                          const std::string& s, const char* what) {
  if (s.size() + 1 > capacity)
    return fail("{} is {} bytes long; at most {} fit", what, s.size(), capacity - 1);
  auto dst = VESSEL_TRY(memory.span(gpa, s.size() + 1));
  std::copy(s.begin(), s.end(), dst.begin());
  dst[s.size()] = 0;
  return {};
}

Result<uint32_t> write_mmap(const memory::GuestMemory& memory) {
  const std::vector<MmapEntry> map = memory_map(memory);
  if (map.size() > kMaxMmapEntries) return fail("too many memory regions for the memory map");
  uint64_t at = kMultibootMmapAddress;
  for (const MmapEntry& e : map) {
    std::array<uint8_t, 24> raw{};
    put32(raw, 0, 20);  // `size` counts the bytes after itself
    put32(raw, 4, static_cast<uint32_t>(e.base));
    put32(raw, 8, static_cast<uint32_t>(e.base >> 32));
    put32(raw, 12, static_cast<uint32_t>(e.length));
    put32(raw, 16, static_cast<uint32_t>(e.length >> 32));
    put32(raw, 20, e.type);
    VESSEL_TRY_VOID(memory.write(at, raw));
    at += raw.size();
  }
  return static_cast<uint32_t>(at - kMultibootMmapAddress);
}

}  // namespace

Result<uint32_t> write_multiboot_info(const memory::GuestMemory& memory, const std::string& cmdline,
                                      const std::optional<MultibootModule>& module) {
  if (memory.regions().empty() || memory.regions()[0].gpa != 0 ||
      memory.regions()[0].size < kBootInfoAreaEnd)
    return fail("guest RAM does not cover the boot info area [{:#x}, {:#x})", kBootInfoAreaStart,
                kBootInfoAreaEnd);
  const uint64_t low_end = memory.regions()[0].size;

  std::array<uint8_t, kInfoSize> info{};
  uint32_t flags = mb_info_flags::kMemory | mb_info_flags::kCmdline | mb_info_flags::kMmap |
                   mb_info_flags::kLoaderName;
  // mem_lower/mem_upper in KiB: RAM from 0 and from 1 MiB up to the first hole (§3.3).
  put32(info, 4, static_cast<uint32_t>(std::min(low_end, kLowMemoryEnd) / 1024));
  put32(
      info, 8,
      static_cast<uint32_t>(low_end > kHighMemoryStart ? (low_end - kHighMemoryStart) / 1024 : 0));
  VESSEL_TRY_VOID(write_string(memory, kMultibootCmdlineAddress,
                               kBootInfoAreaEnd - kMultibootCmdlineAddress, cmdline,
                               "the command line"));
  put32(info, 16, static_cast<uint32_t>(kMultibootCmdlineAddress));
  if (module) {
    VESSEL_TRY_VOID(write_string(memory, kMultibootModStringAddress,
                                 kMultibootCmdlineAddress - kMultibootModStringAddress,
                                 module->string, "the module string"));
    std::array<uint8_t, 16> mod{};
    put32(mod, 0, module->start);
    put32(mod, 4, module->end);
    put32(mod, 8, static_cast<uint32_t>(kMultibootModStringAddress));
    VESSEL_TRY_VOID(memory.write(kMultibootModsAddress, mod));
    flags |= mb_info_flags::kMods;
    put32(info, 20, 1);
    put32(info, 24, static_cast<uint32_t>(kMultibootModsAddress));
  }
  put32(info, 44, VESSEL_TRY(write_mmap(memory)));
  put32(info, 48, static_cast<uint32_t>(kMultibootMmapAddress));
  VESSEL_TRY_VOID(write_string(memory, kMultibootLoaderNameAddress,
                               kMultibootModStringAddress - kMultibootLoaderNameAddress, "vessel",
                               "the boot loader name"));
  put32(info, 64, static_cast<uint32_t>(kMultibootLoaderNameAddress));
  put32(info, 0, flags);
  VESSEL_TRY_VOID(memory.write(kMultibootInfoAddress, info));
  return static_cast<uint32_t>(kMultibootInfoAddress);
}

}  // namespace vessel::boot
