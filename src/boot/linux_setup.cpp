#include "boot/linux_setup.hpp"

#include <algorithm>

#include "boot/acpi/acpi.hpp"
#include "boot/acpi/pci.hpp"
#include "boot/boot_params.hpp"
#include "boot/byte_writer.hpp"
#include "boot/e820.hpp"
#include "boot/layout.hpp"
#include "boot/long_mode.hpp"
#include "boot/mptable.hpp"
#include "boot/virtio_mmio.hpp"

namespace vessel::boot {
namespace {

constexpr uint64_t kInitrdAlign = 0x1000;
constexpr uint16_t kHeapEnd = 0xfe00;  // boot.rst: heap_end_ptr = end of setup heap - 0x200

Result<void> write_cmdline(const memory::GuestMemory& memory, const std::string& cmdline,
                           uint32_t max_size) {
  const uint64_t limit = std::min<uint64_t>(max_size, layout::kCmdlineMax - 1);
  if (cmdline.size() > limit)
    return fail("kernel command line of {} bytes is too long (the kernel accepts {})",
                cmdline.size(), limit);
  std::vector<uint8_t> bytes(cmdline.begin(), cmdline.end());
  bytes.push_back(0);
  return memory.write(layout::kCmdline, bytes);
}

// The initrd goes as high as allowed (boot.rst, "initrd_addr_max"), page aligned, above the
// kernel's init_size range. Returns its address.
Result<uint64_t> write_initrd(const memory::GuestMemory& memory, std::span<const uint8_t> initrd,
                              const LoadedKernel& kernel) {
  const uint64_t top = std::min(low_ram_end(memory), kernel.initrd_addr_max + 1);
  if (initrd.size() > top || ((top - initrd.size()) & ~(kInitrdAlign - 1)) < kernel.end)
    return fail(
        "initrd of {} bytes does not fit in guest RAM between the kernel (ends at "
        "{:#x}) and {:#x}",
        initrd.size(), kernel.end, top);
  const uint64_t addr = (top - initrd.size()) & ~(kInitrdAlign - 1);
  VESSEL_TRY_VOID(memory.write(addr, initrd));
  return addr;
}

}  // namespace

uint64_t low_ram_end(const memory::GuestMemory& memory) {
  const memory::Region* r = memory.region_of(0);
  return r ? std::min(r->end(), memory::kMmioHoleStart) : 0;
}

Result<LoadedImage> finish_linux_boot(const memory::GuestMemory& memory, const BootFiles& files,
                                      const PlatformInfo& platform, const LoadedKernel& kernel) {
  const auto e820 = VESSEL_TRY(build_e820(memory, platform));
  std::string cmdline = files.cmdline;
  if (!platform.virtio_mmio.empty())
    cmdline += (cmdline.empty() ? "" : " ") + virtio_mmio_cmdline(platform.virtio_mmio);
  VESSEL_TRY_VOID(write_cmdline(memory, cmdline, kernel.cmdline_size));
  uint64_t initrd_addr = 0;
  if (!files.initrd.empty()) initrd_addr = VESSEL_TRY(write_initrd(memory, files.initrd, kernel));

  VESSEL_TRY_VOID(write_mptable(memory, platform.vcpus));
  acpi::AcpiConfig acpi_config{platform.vcpus, {}, {}};
  if (platform.pci) {
    acpi_config.extra_tables.push_back(acpi::make_mcfg());
    acpi_config.dsdt_aml = acpi::pci_host_bridge_aml();
  }
  const auto mmio_aml = acpi::virtio_mmio_aml(platform.virtio_mmio);
  acpi_config.dsdt_aml.insert(acpi_config.dsdt_aml.end(), mmio_aml.begin(), mmio_aml.end());
  const uint64_t rsdp = VESSEL_TRY(acpi::write_acpi_tables(memory, acpi_config));
  VESSEL_TRY_VOID(write_long_mode_tables(memory));

  ByteWriter zp(layout::kZeroPageSize);
  zp.bytes(bp::kSetupHeader, kernel.setup_header);
  zp.u8(bp::kTypeOfLoader, bp::kLoaderUndefined);
  zp.u8(bp::kLoadFlags,
        uint8_t(read_le(zp.data(), bp::kLoadFlags, 1) | bp::kLoadedHigh | bp::kCanUseHeap));
  zp.u16(bp::kHeapEndPtr, kHeapEnd);
  zp.u32(bp::kCmdLinePtr, uint32_t(layout::kCmdline));
  zp.u32(bp::kExtCmdLinePtr, uint32_t(layout::kCmdline >> 32));
  zp.u32(bp::kRamdiskImage, uint32_t(initrd_addr));
  zp.u32(bp::kExtRamdiskImage, uint32_t(initrd_addr >> 32));
  zp.u32(bp::kRamdiskSize, uint32_t(files.initrd.size()));
  zp.u32(bp::kExtRamdiskSize, uint32_t(uint64_t{files.initrd.size()} >> 32));
  zp.u64(bp::kAcpiRsdpAddr, rsdp);
  zp.u8(bp::kE820Entries, uint8_t(e820.size()));
  for (size_t i = 0; i < e820.size(); ++i) {
    const size_t off = bp::kE820Table + i * bp::kE820EntrySize;
    zp.u64(off, e820[i].addr);
    zp.u64(off + 8, e820[i].size);
    zp.u32(off + 16, uint32_t(e820[i].type));
  }
  if (zp.size() != layout::kZeroPageSize) return fail("internal: boot_params overflow");
  VESSEL_TRY_VOID(memory.write(layout::kZeroPage, zp.data()));
  return LoadedImage{long_mode_entry_state(kernel.entry, layout::kZeroPage), kernel.format};
}

}  // namespace vessel::boot
