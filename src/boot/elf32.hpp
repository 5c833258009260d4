// The parts of an ELF32 executable a loader needs (System V ABI gABI "Object Files" chapter;
// the i386 psABI): the entry point and the PT_LOAD program headers. Everything read from the
// file is checked against the file's size here, so callers get offsets they may trust.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.hpp"

namespace vessel::boot {

struct Elf32Segment {
  uint32_t offset;  // in the file; offset + file_size lies within the file
  uint32_t vaddr;
  uint32_t paddr;
  uint32_t file_size;
  uint32_t mem_size;  // >= file_size; the rest is bss, zero-filled by the loader
};

struct Elf32Image {
  uint32_t entry;                      // e_entry (a virtual address)
  std::vector<Elf32Segment> segments;  // PT_LOAD only, in file order
};

// Parses a little-endian i386 ET_EXEC file. Rejects ELF64 (with a clear message), other
// machines, and any header or segment that is truncated or runs past the end of the file.
Result<Elf32Image> parse_elf32(std::span<const uint8_t> file);

}  // namespace vessel::boot
