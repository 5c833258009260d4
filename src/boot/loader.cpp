#include "boot/loader.hpp"

#include <optional>
#include <span>

#include "boot/flat.hpp"
#include "boot/format.hpp"
#include "boot/image_file.hpp"
#include "boot/linux.hpp"
#include "boot/multiboot.hpp"

namespace vessel::boot {
namespace {

// The dispatch on image format. An ELF64 x86-64 file without a multiboot header is taken as a
// Linux vmlinux.
Result<LoadedImage> load_by_format(const memory::GuestMemory& memory, const BootFiles& files,
                                   const config::BootSource& source, const PlatformInfo& platform) {
  const ImageFormat format = detect_format(files.kernel);
  switch (format) {
    case ImageFormat::kLinuxBzImage:
      return load_linux(memory, files, platform);
    case ImageFormat::kElf:
      if (is_elf64_x86_64(files.kernel)) return load_vmlinux(memory, files, platform);
      return fail(
          "ELF file without a multiboot header: only multiboot ELF32 kernels and x86-64 Linux "
          "vmlinux files are supported");
    case ImageFormat::kMultiboot:
      return load_multiboot(memory, files);
    case ImageFormat::kFlat:
      if (!files.initrd.empty()) return fail("an initrd cannot be given with a flat binary");
      return load_flat(memory, files.kernel, source.load_address.value_or(kDefaultFlatLoadAddress));
  }
  return fail("unknown image format");
}

}  // namespace

Result<LoadedImage> load_kernel(const memory::GuestMemory& memory, const config::BootSource& source,
                                const PlatformInfo& platform) {
  if (source.kernel.empty()) return fail("no kernel image given");
  auto kernel = ImageFile::open(source.kernel, memory.ram_size());
  if (!kernel) return context(kernel.error(), "kernel image '{}'", source.kernel);
  std::optional<ImageFile> initrd;
  if (!source.initrd.empty()) {
    auto mapped = ImageFile::open(source.initrd, memory.ram_size());
    if (!mapped) return context(mapped.error(), "initrd '{}'", source.initrd);
    initrd = std::move(*mapped);
  }
  const BootFiles files{kernel->bytes(), initrd ? initrd->bytes() : std::span<const uint8_t>{},
                        source.initrd, source.cmdline};
  auto image = load_by_format(memory, files, source, platform);
  if (!image) return context(image.error(), "kernel image '{}'", source.kernel);
  return image;
}

}  // namespace vessel::boot
