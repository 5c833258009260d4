#include "boot/linux.hpp"

#include <algorithm>

#include "boot/boot_params.hpp"
#include "boot/byte_writer.hpp"
#include "boot/layout.hpp"
#include "boot/linux_setup.hpp"
#include "boot/sparse_copy.hpp"

namespace vessel::boot {
namespace {

uint64_t field(std::span<const uint8_t> image, size_t off, size_t n) {
  return read_le(image, off, n);
}

// The setup header checks of boot.rst ("Details of header fields"), in one place.
Result<void> validate_bzimage(std::span<const uint8_t> image) {
  if (image.size() < bp::kSetupHeaderMaxEnd || field(image, bp::kHeaderMagic, 4) != bp::kHdrSMagic)
    return fail("not a bzImage (no \"HdrS\" setup header at {:#x})", bp::kHeaderMagic);
  if (field(image, bp::kBootFlag, 2) != bp::kBootFlagValue)
    return fail("bzImage boot_flag is not 0xAA55");
  const uint64_t version = field(image, bp::kVersion, 2);
  if (version < bp::kMinVersion)
    return fail("boot protocol {}.{:02} is too old: the 64-bit entry needs 2.12 or later",
                version >> 8, version & 0xff);
  if (!(field(image, bp::kXLoadFlags, 2) & bp::kXlfKernel64))
    return fail("kernel has no 64-bit entry point (xloadflags lacks XLF_KERNEL_64)");
  return {};
}

// Where the protected-mode part goes: a relocatable kernel at its preferred address rounded up
// to kernel_alignment (boot.rst: "pref_address", "relocatable_kernel"), else 1 MiB.
uint64_t load_address(std::span<const uint8_t> image) {
  uint64_t addr = layout::kHighMemory;
  if (field(image, bp::kRelocatableKernel, 1) != 0) {
    const uint64_t pref = field(image, bp::kPrefAddress, 8);
    const uint64_t align = std::max<uint64_t>(field(image, bp::kKernelAlignment, 4), 0x1000);
    if (pref >= layout::kHighMemory && (align & (align - 1)) == 0)
      addr = (pref + align - 1) & ~(align - 1);
  }
  return addr;
}

// ELF64 header and program header offsets (System V gABI; x86-64 psABI).
constexpr size_t kElfPhoff = 0x20, kElfEntry = 0x18, kElfPhentsize = 0x36, kElfPhnum = 0x38;
constexpr size_t kElfHeaderSize = 0x40, kPhdrSize = 56;
constexpr uint32_t kPtLoad = 1;
constexpr uint16_t kEmX86_64 = 62;

struct Segment {
  uint64_t offset, vaddr, paddr, filesz, memsz;
};

Result<std::vector<Segment>> elf_segments(std::span<const uint8_t> image) {
  const uint64_t phoff = field(image, kElfPhoff, 8);
  const uint64_t phnum = field(image, kElfPhnum, 2);
  if (field(image, kElfPhentsize, 2) != kPhdrSize || phoff > image.size() ||
      phnum > (image.size() - phoff) / kPhdrSize)
    return fail("ELF program headers lie outside the file");
  std::vector<Segment> segments;
  for (uint64_t i = 0; i < phnum; ++i) {
    const size_t p = phoff + i * kPhdrSize;
    if (field(image, p, 4) != kPtLoad) continue;
    Segment s{field(image, p + 8, 8), field(image, p + 16, 8), field(image, p + 24, 8),
              field(image, p + 32, 8), field(image, p + 40, 8)};
    if (s.offset > image.size() || s.filesz > image.size() - s.offset || s.filesz > s.memsz)
      return fail("ELF segment {} lies outside the file (truncated kernel?)", i);
    segments.push_back(s);
  }
  if (segments.empty()) return fail("ELF file has no loadable segment");
  return segments;
}

// e_entry of a vmlinux is physical (the linker script's ENTRY(phys_startup_64)); a virtual
// entry inside a segment is translated through that segment's vaddr -> paddr.
uint64_t physical_entry(uint64_t entry, const std::vector<Segment>& segments) {
  for (const Segment& s : segments)
    if (entry >= s.paddr && entry - s.paddr < s.memsz) return entry;
  for (const Segment& s : segments)
    if (entry >= s.vaddr && entry - s.vaddr < s.memsz) return entry - s.vaddr + s.paddr;
  return ~0ull;  // not in the image
}

Result<void> check_fits(const memory::GuestMemory& memory, uint64_t start, uint64_t size) {
  const uint64_t end = low_ram_end(memory);
  if (start > end || size > end - start)
    return fail("kernel needs guest RAM up to {:#x} but RAM below 3 GiB ends at {:#x}",
                start + size, end);
  return {};
}

}  // namespace

bool is_elf64_x86_64(std::span<const uint8_t> image) {
  return image.size() >= kElfHeaderSize && image[0] == 0x7f && image[1] == 'E' && image[2] == 'L' &&
         image[3] == 'F' && image[4] == 2 /* ELFCLASS64 */ && image[5] == 1 /* little-endian */ &&
         field(image, 0x12, 2) == kEmX86_64;
}

Result<LoadedImage> load_linux(const memory::GuestMemory& memory, const BootFiles& files,
                               const PlatformInfo& platform) {
  const std::span<const uint8_t> image = files.kernel;
  VESSEL_TRY_VOID(validate_bzimage(image));
  uint64_t setup_sects = field(image, bp::kSetupSects, 1);
  if (setup_sects == 0) setup_sects = 4;
  const uint64_t setup_size = (setup_sects + 1) * 512;
  const uint64_t header_end = bp::kJump + 2 + field(image, bp::kJump + 1, 1);
  if (setup_size >= image.size() || header_end > bp::kSetupHeaderMaxEnd)
    return fail("bzImage is truncated or its setup header is malformed");
  const std::span<const uint8_t> kernel = image.subspan(setup_size);
  const uint64_t payload_end =
      field(image, bp::kPayloadOffset, 4) + field(image, bp::kPayloadLength, 4);
  if (payload_end > kernel.size())
    return fail("bzImage is truncated: payload ends at {:#x}, file has {:#x} bytes",
                setup_size + payload_end, image.size());

  const uint64_t load = load_address(image);
  const uint64_t init_size = std::max<uint64_t>(field(image, bp::kInitSize, 4), kernel.size());
  VESSEL_TRY_VOID(check_fits(memory, load, init_size));
  VESSEL_TRY_VOID(memory.write(load, kernel));

  LoadedKernel k;
  k.setup_header.assign(image.begin() + bp::kSetupHeader, image.begin() + header_end);
  k.entry = load + bp::k64BitEntryOffset;
  k.end = load + init_size;
  k.cmdline_size = uint32_t(field(image, bp::kCmdlineSize, 4));
  k.initrd_addr_max = field(image, bp::kInitrdAddrMax, 4);
  k.format = "linux-bzimage";
  // code32_start tells the kernel where its protected-mode part was put.
  const size_t c32 = bp::kCode32Start - bp::kSetupHeader;
  for (size_t i = 0; i < 4; ++i) k.setup_header[c32 + i] = uint8_t(load >> (8 * i));
  return finish_linux_boot(memory, files, platform, k);
}

Result<LoadedImage> load_vmlinux(const memory::GuestMemory& memory, const BootFiles& files,
                                 const PlatformInfo& platform) {
  const std::span<const uint8_t> image = files.kernel;
  if (!is_elf64_x86_64(image)) return fail("not an x86-64 ELF64 vmlinux");
  const std::vector<Segment> segments = VESSEL_TRY(elf_segments(image));
  uint64_t end = 0;
  for (const Segment& s : segments) {
    if (s.paddr < layout::kHighMemory)
      return fail("ELF segment at {:#x} overlaps the boot structures below 1 MiB", s.paddr);
    VESSEL_TRY_VOID(check_fits(memory, s.paddr, s.memsz));
    end = std::max(end, s.paddr + s.memsz);
  }
  for (const Segment& s : segments) {
    auto dst = VESSEL_TRY(memory.span(s.paddr, s.memsz));
    copy_sparse(dst, image.subspan(s.offset, s.filesz));  // then .bss
  }

  // No setup header comes with a vmlinux: make the fields the kernel reads (boot.rst).
  ByteWriter hdr(bp::kSetupHeaderMaxEnd - bp::kSetupHeader);
  auto at = [](size_t off) { return off - bp::kSetupHeader; };
  hdr.u16(at(bp::kBootFlag), bp::kBootFlagValue);
  hdr.u32(at(bp::kHeaderMagic), bp::kHdrSMagic);
  hdr.u16(at(bp::kVersion), bp::kMinVersion);
  hdr.u32(at(bp::kKernelAlignment), 0x200000);
  hdr.u32(at(bp::kCmdlineSize), bp::kDefaultCmdlineSize);
  LoadedKernel k;
  k.setup_header = std::move(hdr.data());
  k.entry = physical_entry(field(image, kElfEntry, 8), segments);
  if (k.entry == ~0ull) return fail("ELF entry point lies outside the loaded segments");
  k.end = end;
  k.cmdline_size = bp::kDefaultCmdlineSize;
  k.initrd_addr_max = 0x7fffffff;  // what every x86_64 bzImage header says
  k.format = "linux-vmlinux";
  return finish_linux_boot(memory, files, platform, k);
}

}  // namespace vessel::boot
