#include "boot/multiboot.hpp"

#include <algorithm>
#include <vector>

#include "boot/elf32.hpp"
#include "boot/multiboot_header.hpp"
#include "boot/multiboot_info.hpp"

namespace vessel::boot {
namespace {

// One piece of the image in guest memory: `bytes` from the file at `gpa`, then zeros up to
// `mem_size` (bss).
struct Placement {
  uint64_t gpa;
  std::span<const uint8_t> bytes;
  uint64_t mem_size;
};

struct Layout {
  std::vector<Placement> pieces;
  uint32_t entry;  // physical
};

Result<void> check_required_flags(uint32_t flags) {
  using namespace mb_header_flags;
  if (flags & kWantVideoMode)
    return fail("the kernel requires a video mode (multiboot header flag 2); vessel has no video");
  const uint32_t unknown = flags & kRequiredMask & ~(kPageAlignModules | kWantMemoryInfo);
  if (unknown) return fail("the kernel requires unknown multiboot features (flags {:#x})", unknown);
  return {};
}

// ELF32: PT_LOAD segments at their physical addresses; e_entry is virtual, so translate it
// through the segment that contains it (what GRUB does for higher-half kernels).
Result<Layout> elf_layout(std::span<const uint8_t> file) {
  const Elf32Image elf = VESSEL_TRY(parse_elf32(file));
  Layout layout{{}, 0};
  bool entry_found = false;
  for (const Elf32Segment& s : elf.segments) {
    layout.pieces.push_back({s.paddr, file.subspan(s.offset, s.file_size), s.mem_size});
    if (!entry_found && elf.entry >= s.vaddr && elf.entry - s.vaddr < s.mem_size) {
      layout.entry = elf.entry - s.vaddr + s.paddr;
      entry_found = true;
    }
  }
  if (!entry_found) return fail("ELF entry point {:#x} is in no loadable segment", elf.entry);
  return layout;
}

// The a.out kludge (§3.1.3): the header says where the file is loaded, from the file offset
// that corresponds to load_addr given where the header itself sits.
Result<Layout> address_fields_layout(std::span<const uint8_t> file, const MultibootHeader& h) {
  if (h.header_addr < h.load_addr || h.header_addr - h.load_addr > h.file_offset)
    return fail("multiboot header_addr {:#x} / load_addr {:#x} do not match the file",
                h.header_addr, h.load_addr);
  const uint64_t file_start = h.file_offset - (h.header_addr - h.load_addr);
  uint64_t load_size = file.size() - file_start;
  if (h.load_end_addr != 0) {
    if (h.load_end_addr < h.header_addr)
      return fail("multiboot load_end_addr {:#x} is below header_addr", h.load_end_addr);
    load_size = h.load_end_addr - h.load_addr;
    if (load_size > file.size() - file_start)
      return fail("truncated image: multiboot load_end_addr {:#x} is past the end of the file",
                  h.load_end_addr);
  }
  uint64_t mem_size = load_size;
  if (h.bss_end_addr != 0) {
    if (h.bss_end_addr < h.load_addr + load_size)
      return fail("multiboot bss_end_addr {:#x} is below the loaded data", h.bss_end_addr);
    mem_size = h.bss_end_addr - h.load_addr;
  }
  if (h.entry_addr < h.load_addr || h.entry_addr - h.load_addr >= mem_size)
    return fail("multiboot entry_addr {:#x} is outside the loaded image", h.entry_addr);
  return Layout{{{h.load_addr, file.subspan(file_start, load_size), mem_size}}, h.entry_addr};
}

Result<void> place(const memory::GuestMemory& memory, const Placement& p) {
  if (p.gpa < kBootInfoAreaEnd && p.gpa + p.mem_size > kBootInfoAreaStart)
    return fail("segment [{:#x}, +{:#x}) overlaps the boot info area [{:#x}, {:#x})", p.gpa,
                p.mem_size, kBootInfoAreaStart, kBootInfoAreaEnd);
  auto dst = memory.span(p.gpa, p.mem_size);
  if (!dst)
    return fail("segment [{:#x}, +{:#x}) is outside guest RAM ({} MiB)", p.gpa, p.mem_size,
                memory.ram_size() >> 20);
  std::copy(p.bytes.begin(), p.bytes.end(), dst->begin());
  std::fill(dst->begin() + static_cast<ptrdiff_t>(p.bytes.size()), dst->end(), 0);
  return {};
}

// The initrd goes on the first page boundary after the kernel (modules are page aligned
// whether or not flag 0 asks for it).
Result<MultibootModule> place_module(const memory::GuestMemory& memory, uint64_t image_end,
                                     const BootFiles& files) {
  const uint64_t start = (image_end + memory::kPageSize - 1) & ~(memory::kPageSize - 1);
  auto dst = memory.span(start, files.initrd.size());
  if (!dst || start + files.initrd.size() > 0xffffffffull)
    return fail("the initrd ({} bytes) does not fit in guest RAM after the kernel (at {:#x})",
                files.initrd.size(), start);
  std::copy(files.initrd.begin(), files.initrd.end(), dst->begin());
  return MultibootModule{static_cast<uint32_t>(start),
                         static_cast<uint32_t>(start + files.initrd.size()), files.initrd_path};
}

}  // namespace

Result<LoadedImage> load_multiboot(const memory::GuestMemory& memory, const BootFiles& files) {
  const auto header = find_multiboot_header(files.kernel);
  if (!header) return fail("no multiboot header in the first {} bytes", kMultibootSearchLimit);
  VESSEL_TRY_VOID(check_required_flags(header->flags));
  const Layout layout = (header->flags & mb_header_flags::kAddressFields)
                            ? VESSEL_TRY(address_fields_layout(files.kernel, *header))
                            : VESSEL_TRY(elf_layout(files.kernel));
  uint64_t image_end = 0;
  for (const Placement& p : layout.pieces) {
    VESSEL_TRY_VOID(place(memory, p));
    image_end = std::max(image_end, p.gpa + p.mem_size);
  }
  std::optional<MultibootModule> module;
  if (!files.initrd.empty()) module = VESSEL_TRY(place_module(memory, image_end, files));
  const uint32_t info = VESSEL_TRY(write_multiboot_info(memory, files.cmdline, module));

  LoadedImage image{arch::flat_protected_mode_state(layout.entry), "multiboot"};
  image.entry.gpr[arch::kRax] = kMultibootBootloaderMagic;
  image.entry.gpr[arch::kRbx] = info;
  return image;
}

}  // namespace vessel::boot
