// The snapshot file: a versioned, self-describing container for a paused VM's state (guest
// memory goes to a separate file). Layout, all integers little-endian:
//
//   magic "VESSELSN" (8) | format version u32 | vessel version: u16 length + bytes
//   | section count u32 | sections: id u32, length u64, bytes | CRC-32 (zlib) of all before
//
// decode() checks everything (magic, version, checksum, every length) before returning, so a
// truncated, corrupt or foreign file is refused with a clear message before anything is built.
// What the sections hold is the machine's business (machine/snapshot.cpp); unknown section ids
// are kept, so a reader can tell what it does not understand.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace vessel::snapshot {

inline constexpr char kMagic[8] = {'V', 'E', 'S', 'S', 'E', 'L', 'S', 'N'};
// Bumped whenever a section's or a device's layout changes.
inline constexpr uint32_t kFormatVersion = 2;  // 2: network, console and transport

enum class SectionId : uint32_t {
  kMachine = 1,  // engine, memory size, vCPU count, devices built, drives, nets, transport
  kClock = 2,    // the VM's time line
  kVcpu = 3,     // one per vCPU: index + CpuState
  kDevices = 4,  // every device's state, by name
  kMemory = 5,   // what the memory file must be
};

struct Section {
  uint32_t id = 0;
  std::vector<uint8_t> data;
};

struct SnapshotFile {
  uint32_t format_version = kFormatVersion;
  std::string vessel_version;
  std::vector<Section> sections;

  void add(SectionId id, std::vector<uint8_t> data);
  // Sections with `id`, in file order.
  std::vector<const Section*> find(SectionId id) const;
};

std::vector<uint8_t> encode(const SnapshotFile& file);
Result<SnapshotFile> decode(std::span<const uint8_t> bytes);

Result<void> write_file(const std::string& path, const SnapshotFile& file);
Result<SnapshotFile> read_file(const std::string& path);

}  // namespace vessel::snapshot
