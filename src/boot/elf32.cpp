#include "boot/elf32.hpp"

#include <cstring>

namespace vessel::boot {
namespace {

// e_ident indices and values, e_type/e_machine/p_type constants (gABI, i386 psABI).
constexpr size_t kEiClass = 4, kEiData = 5;
constexpr uint8_t kElfClass32 = 1, kElfClass64 = 2, kElfData2Lsb = 1;
constexpr uint16_t kEtExec = 2, kEm386 = 3;
constexpr uint32_t kPtLoad = 1;
constexpr size_t kEhdrSize = 52, kPhdrSize = 32;

// Field readers; callers have checked that [offset, offset + N) is inside `bytes`.
uint16_t le16(std::span<const uint8_t> b, size_t off) {
  uint16_t v;
  std::memcpy(&v, b.data() + off, 2);
  return v;
}
uint32_t le32(std::span<const uint8_t> b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

Result<void> check_ident(std::span<const uint8_t> file) {
  if (file.size() < kEhdrSize)
    return fail("truncated ELF: {} bytes, the ELF header alone is {}", file.size(), kEhdrSize);
  if (std::memcmp(file.data(),
                  "\x7f"
                  "ELF",
                  4) != 0)
    return fail("not an ELF file");
  if (file[kEiClass] == kElfClass64)
    return fail("ELF64 multiboot kernels are not supported (link the kernel as ELF32)");
  if (file[kEiClass] != kElfClass32) return fail("bad ELF class {}", file[kEiClass]);
  if (file[kEiData] != kElfData2Lsb) return fail("ELF file is not little-endian");
  if (le16(file, 16) != kEtExec)
    return fail("ELF file is not an executable (e_type {})", le16(file, 16));
  if (le16(file, 18) != kEm386)
    return fail("ELF file is not for i386 (e_machine {})", le16(file, 18));
  return {};
}

Result<Elf32Segment> parse_segment(std::span<const uint8_t> file, size_t ph, unsigned index) {
  Elf32Segment s{le32(file, ph + 4), le32(file, ph + 8), le32(file, ph + 12), le32(file, ph + 16),
                 le32(file, ph + 20)};
  if (s.file_size > s.mem_size)
    return fail("ELF segment {}: file size {:#x} exceeds memory size {:#x}", index, s.file_size,
                s.mem_size);
  if (s.offset > file.size() || s.file_size > file.size() - s.offset)
    return fail("truncated ELF: segment {} needs file bytes [{:#x}, +{:#x}) of {:#x}", index,
                s.offset, s.file_size, file.size());
  return s;
}

}  // namespace

Result<Elf32Image> parse_elf32(std::span<const uint8_t> file) {
  VESSEL_TRY_VOID(check_ident(file));
  const uint32_t phoff = le32(file, 28);
  const uint16_t phentsize = le16(file, 42);
  const uint16_t phnum = le16(file, 44);
  if (phnum == 0) return fail("ELF file has no program headers");
  if (phentsize < kPhdrSize) return fail("bad ELF program header size {}", phentsize);
  // 64-bit arithmetic: phnum * phentsize < 2^32 cannot overflow here.
  const uint64_t table_end = uint64_t{phoff} + uint64_t{phnum} * phentsize;
  if (table_end > file.size())
    return fail("truncated ELF: program headers end at {:#x}, the file at {:#x}", table_end,
                file.size());

  Elf32Image image{le32(file, 24), {}};
  for (unsigned i = 0; i < phnum; ++i) {
    const size_t ph = phoff + size_t{i} * phentsize;
    if (le32(file, ph) != kPtLoad) continue;
    image.segments.push_back(VESSEL_TRY(parse_segment(file, ph, i)));
  }
  if (image.segments.empty()) return fail("ELF file has no loadable (PT_LOAD) segment");
  return image;
}

}  // namespace vessel::boot
