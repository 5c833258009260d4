// The Linux boot protocol loader on synthetic kernels (a bzImage header with chosen fields, a
// one-segment ELF64), and on the default guest when scripts/build-guest.sh has built it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "boot/boot_params.hpp"
#include "boot/byte_writer.hpp"
#include "boot/e820.hpp"
#include "boot/layout.hpp"
#include "boot/linux.hpp"
#include "boot/long_mode.hpp"
#include "synthetic_kernels.hpp"

namespace vessel::boot {
namespace {

using synthetic::kKernelBytes;
using synthetic::kPref;
using synthetic::kSetupSects;
using synthetic::make_bzimage;
using synthetic::make_vmlinux;

class LinuxTest : public ::testing::Test {
 protected:
  void make_memory(uint64_t bytes) {
    auto m = memory::GuestMemory::create(bytes);
    ASSERT_TRUE(m.has_value());
    mem_.emplace(std::move(*m));
  }
  void SetUp() override { make_memory(64 << 20); }
  Result<LoadedImage> load(const std::vector<uint8_t>& kernel,
                           std::string cmdline = "console=ttyS0",
                           std::vector<uint8_t> initrd = {}) {
    initrd_ = std::move(initrd);
    return load_linux(*mem_, BootFiles{kernel, initrd_, "", std::move(cmdline)}, platform_);
  }
  uint64_t zp(size_t off, size_t n) {
    std::vector<uint8_t> b(n);
    EXPECT_TRUE(mem_->read(layout::kZeroPage + off, b).has_value());
    return read_le(b, 0, n);
  }
  std::vector<E820Entry> e820() {
    std::vector<E820Entry> out;
    for (uint64_t i = 0; i < zp(bp::kE820Entries, 1); ++i) {
      const size_t off = bp::kE820Table + i * bp::kE820EntrySize;
      out.push_back({zp(off, 8), zp(off + 8, 8), E820Type(zp(off + 16, 4))});
    }
    return out;
  }
  // Walks the identity map the loader built (4-level, 2 MiB pages).
  uint64_t translate(uint64_t cr3, uint64_t va) {
    auto entry = [&](uint64_t table, uint64_t index) {
      auto v = mem_->read_obj<uint64_t>(table + index * 8);
      EXPECT_TRUE(v.has_value());
      return v.value_or(0);
    };
    const uint64_t pml4e = entry(cr3, (va >> 39) & 511);
    const uint64_t pdpte = entry(pml4e & ~0xfffull, (va >> 30) & 511);
    const uint64_t pde = entry(pdpte & ~0xfffull, (va >> 21) & 511);
    EXPECT_TRUE((pml4e & pdpte & pde & 1) && (pde & 0x80)) << std::hex << va;
    return (pde & ~0x1fffffull) | (va & 0x1fffff);
  }
  PlatformInfo platform_{.vcpus = 2, .reserved = {}};
  std::vector<uint8_t> initrd_;
  std::optional<memory::GuestMemory> mem_;
};

TEST_F(LinuxTest, BzImageIsLoadedAtPrefAddressAndEnteredInLongMode) {
  const auto image = make_bzimage();
  auto loaded = load(image);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->format, "linux-bzimage");
  std::vector<uint8_t> kernel(kKernelBytes);
  ASSERT_TRUE(mem_->read(kPref, kernel).has_value());
  EXPECT_TRUE(std::equal(kernel.begin(), kernel.end(), image.end() - kKernelBytes));

  const arch::CpuState& s = loaded->entry;
  EXPECT_EQ(s.rip, kPref + 0x200);
  EXPECT_EQ(s.gpr[arch::kRsi], layout::kZeroPage);
  EXPECT_EQ(s.seg[arch::kCs].selector, kBootCs);
  EXPECT_TRUE(s.seg[arch::kCs].l);
  EXPECT_FALSE(s.seg[arch::kCs].db);
  for (int i : {arch::kDs, arch::kEs, arch::kSs}) EXPECT_EQ(s.seg[i].selector, kBootDs);
  EXPECT_EQ(s.cr0 & (arch::cr0::kPE | arch::cr0::kPG), arch::cr0::kPE | arch::cr0::kPG);
  EXPECT_TRUE(s.cr4 & arch::cr4::kPAE);
  EXPECT_EQ(s.efer & (arch::efer::kLME | arch::efer::kLMA), arch::efer::kLME | arch::efer::kLMA);
  EXPECT_FALSE(s.rflags & arch::rflags::kIF);
  // The GDT's descriptors at the selectors, and an identity map over the first 4 GiB.
  EXPECT_EQ(mem_->read_obj<uint64_t>(s.gdt.base + kBootCs).value(), 0x00af9b000000ffffull);
  EXPECT_EQ(mem_->read_obj<uint64_t>(s.gdt.base + kBootDs).value(), 0x00cf93000000ffffull);
  for (uint64_t va :
       {uint64_t{0}, layout::kZeroPage, kPref + 0x200, uint64_t{0xfee00000}, uint64_t{0xffffffff}})
    EXPECT_EQ(translate(s.cr3, va), va);
}

TEST_F(LinuxTest, BootParamsCarryHeaderCmdlineLoaderAndRsdp) {
  auto loaded = load(make_bzimage(), "console=ttyS0 quiet");
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(zp(bp::kHeaderMagic, 4), bp::kHdrSMagic);
  EXPECT_EQ(zp(bp::kVersion, 2), 0x020fu);
  EXPECT_EQ(zp(bp::kTypeOfLoader, 1), 0xffu);
  EXPECT_EQ(zp(bp::kLoadFlags, 1), uint64_t(bp::kLoadedHigh | bp::kCanUseHeap));
  EXPECT_EQ(zp(bp::kCode32Start, 4), kPref);
  EXPECT_EQ(zp(bp::kSentinel, 1), 0u);
  EXPECT_EQ(zp(bp::kRamdiskImage, 4), 0u);
  const uint64_t cmdline = zp(bp::kCmdLinePtr, 4);
  std::vector<uint8_t> text(20);
  ASSERT_TRUE(mem_->read(cmdline, text).has_value());
  EXPECT_STREQ(reinterpret_cast<const char*>(text.data()), "console=ttyS0 quiet");
  const uint64_t rsdp = zp(bp::kAcpiRsdpAddr, 8);
  std::vector<uint8_t> sig(8);
  ASSERT_TRUE(mem_->read(rsdp, sig).has_value());
  EXPECT_EQ(std::string(sig.begin(), sig.end()), "RSD PTR ");
}

TEST_F(LinuxTest, E820MatchesGuestMemoryWithLegacyAreaReserved) {
  ASSERT_TRUE(load(make_bzimage()).has_value());
  const auto map = e820();
  ASSERT_EQ(map.size(), 3u);
  EXPECT_EQ(map[0].addr, 0u);
  EXPECT_EQ(map[0].size, layout::kReservedLowStart);
  EXPECT_EQ(map[0].type, E820Type::kRam);
  EXPECT_EQ(map[1].addr, layout::kReservedLowStart);
  EXPECT_EQ(map[1].addr + map[1].size, layout::kHighMemory);
  EXPECT_EQ(map[1].type, E820Type::kReserved);
  EXPECT_EQ(map[2].addr, layout::kHighMemory);
  EXPECT_EQ(map[2].addr + map[2].size, mem_->ram_size());
}

TEST_F(LinuxTest, E820CoversRamAboveTheHoleAndPlatformReservations) {
  make_memory(memory::kMmioHoleStart + (64 << 20));        // 3 GiB + 64 MiB: RAM above 4 GiB
  platform_.reserved.push_back({0xe0000000, 0x10000000});  // e.g. a PCIe ECAM window
  ASSERT_TRUE(load(make_bzimage()).has_value());
  const auto map = e820();
  uint64_t ram = 0;
  for (size_t i = 0; i < map.size(); ++i) {
    if (i > 0) {
      EXPECT_GE(map[i].addr, map[i - 1].addr + map[i - 1].size);  // sorted, disjoint
    }
    if (map[i].type == E820Type::kRam) ram += map[i].size;
  }
  EXPECT_EQ(ram, mem_->ram_size() - (layout::kHighMemory - layout::kReservedLowStart));
  EXPECT_EQ(map.back().addr, memory::kMmioHoleEnd);
  EXPECT_EQ(map.back().size, 64u << 20);
  EXPECT_EQ(map[map.size() - 2].addr, 0xe0000000u);
  EXPECT_EQ(map[map.size() - 2].type, E820Type::kReserved);
}

TEST_F(LinuxTest, InitrdGoesToTheTopOfRamBelowInitrdAddrMax) {
  std::vector<uint8_t> initrd(0x123456);
  for (size_t i = 0; i < initrd.size(); ++i) initrd[i] = uint8_t(i * 13);
  ASSERT_TRUE(load(make_bzimage(), "", initrd).has_value());
  const uint64_t addr = zp(bp::kRamdiskImage, 4);
  EXPECT_EQ(zp(bp::kRamdiskSize, 4), initrd.size());
  EXPECT_EQ(addr % 4096, 0u);
  EXPECT_LE(addr + initrd.size(), mem_->ram_size());
  EXPECT_GT(addr + initrd.size() + 4096, mem_->ram_size());  // as high as alignment allows
  EXPECT_GE(addr, kPref + 0x400000);                         // above init_size
  std::vector<uint8_t> back(initrd.size());
  ASSERT_TRUE(mem_->read(addr, back).has_value());
  EXPECT_EQ(back, initrd);

  auto low_max = make_bzimage();
  ByteWriter w(0);
  w.data() = low_max;
  w.u32(bp::kInitrdAddrMax, 0x01ffffff);  // 32 MiB
  ASSERT_TRUE(load(w.data(), "", initrd).has_value());
  EXPECT_LE(zp(bp::kRamdiskImage, 4) + initrd.size(), 0x2000000u);
}

TEST_F(LinuxTest, BadInputGivesOneClearError) {
  auto error = [&](const std::vector<uint8_t>& k, std::string cmdline = "",
                   std::vector<uint8_t> initrd = {}) {
    auto r = load(k, std::move(cmdline), std::move(initrd));
    EXPECT_FALSE(r.has_value());
    return r ? std::string() : r.error().message;
  };
  EXPECT_NE(error(std::vector<uint8_t>(4096, 0x90)).find("not a bzImage"), std::string::npos);
  auto image = make_bzimage();
  EXPECT_NE(error({image.begin(), image.begin() + 0x1000}).find("truncated"), std::string::npos);
  EXPECT_NE(error(make_bzimage(0x0204)).find("too old"), std::string::npos);
  EXPECT_NE(error(make_bzimage(0x020f, 0)).find("XLF_KERNEL_64"), std::string::npos);
  EXPECT_NE(error(image, std::string(3000, 'x')).find("too long"), std::string::npos);
  EXPECT_NE(error(image, "", std::vector<uint8_t>(60 << 20)).find("does not fit"),
            std::string::npos);
  ByteWriter huge(0);
  huge.data() = image;
  huge.u32(bp::kInitSize, 0x7000000);  // 112 MiB of init_size in 64 MiB of RAM
  EXPECT_NE(error(huge.data()).find("needs guest RAM"), std::string::npos);
  EXPECT_TRUE(load(image, std::string(2047, 'x')).has_value());  // exactly cmdline_size
}

TEST_F(LinuxTest, VmlinuxSegmentsLoadAtPhysicalAddressesWithBssZeroed) {
  std::vector<uint8_t> junk(0x3000, 0xcc);
  ASSERT_TRUE(mem_->write(kPref, junk).has_value());
  const auto image = make_vmlinux(kPref);
  initrd_ = {1, 2, 3};
  auto loaded = load_vmlinux(*mem_, BootFiles{image, initrd_, "", "console=ttyS0"}, platform_);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  EXPECT_EQ(loaded->format, "linux-vmlinux");
  EXPECT_EQ(loaded->entry.rip, kPref);
  EXPECT_EQ(loaded->entry.gpr[arch::kRsi], layout::kZeroPage);
  std::vector<uint8_t> seg(0x3000);
  ASSERT_TRUE(mem_->read(kPref, seg).has_value());
  EXPECT_TRUE(std::equal(seg.begin(), seg.begin() + 0x1000, image.begin() + 0x1000));
  EXPECT_TRUE(std::all_of(seg.begin() + 0x1000, seg.end(), [](uint8_t b) { return b == 0; }));
  EXPECT_EQ(zp(bp::kHeaderMagic, 4), bp::kHdrSMagic);
  EXPECT_EQ(zp(bp::kRamdiskSize, 4), 3u);
  EXPECT_EQ(zp(bp::kBootFlag, 2), bp::kBootFlagValue);

  // A virtual entry point is translated through its segment.
  auto virt =
      load_vmlinux(*mem_, BootFiles{make_vmlinux(0xffffffff81000040ull), {}, "", ""}, platform_);
  ASSERT_TRUE(virt.has_value());
  EXPECT_EQ(virt->entry.rip, kPref + 0x40);
}

TEST_F(LinuxTest, BadVmlinuxIsRefused) {
  auto refuse = [&](const std::vector<uint8_t>& k) {
    auto r = load_vmlinux(*mem_, BootFiles{k, {}, "", ""}, platform_);
    EXPECT_FALSE(r.has_value());
    return r ? std::string() : r.error().message;
  };
  EXPECT_NE(refuse(make_bzimage()).find("not an x86-64 ELF64"), std::string::npos);
  auto image = make_vmlinux(kPref);
  EXPECT_NE(refuse({image.begin(), image.begin() + 0x1800}).find("outside the file"),
            std::string::npos);
  EXPECT_NE(refuse(make_vmlinux(0x12345)).find("entry point"), std::string::npos);
}

TEST(BootLayout, BootStructuresDoNotOverlap) {
  struct Range {
    uint64_t start, end;
  };
  std::vector<Range> ranges = {
      {layout::kGdt, layout::kGdt + 4 * 8},
      {layout::kIdt, layout::kIdt + 8},
      {layout::kZeroPage, layout::kZeroPage + layout::kZeroPageSize},
      {layout::kPml4, layout::kPageTablesEnd},
      {layout::kCmdline, layout::kCmdline + layout::kCmdlineMax},
      {layout::kMpTable, layout::kMpTableEnd},
      {layout::kAcpiTables, layout::kAcpiTablesEnd},
  };
  std::sort(ranges.begin(), ranges.end(),
            [](const Range& a, const Range& b) { return a.start < b.start; });
  for (size_t i = 1; i < ranges.size(); ++i)
    EXPECT_LE(ranges[i - 1].end, ranges[i].start) << std::hex << ranges[i].start;
  EXPECT_LE(ranges.back().end, layout::kHighMemory);  // all below the kernel
  EXPECT_LT(layout::kBootStack, layout::kPml4);
  EXPECT_GT(layout::kBootStack, layout::kZeroPage + layout::kZeroPageSize);
}

// The default guest built by scripts/build-guest.sh, when it is in the cache.
std::filesystem::path guest_dir() {
  if (const char* dir = std::getenv("VESSEL_GUEST_DIR")) return dir;
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::filesystem::path(xdg) / "vessel/guest";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : "/") / ".cache/vessel/guest";
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST_F(LinuxTest, DefaultGuestBzImageAndVmlinuxLoad) {
  const auto dir = guest_dir();
  if (!std::filesystem::exists(dir / "vmlinuz") || !std::filesystem::exists(dir / "vmlinux"))
    GTEST_SKIP() << "default guest not built (run scripts/build-guest.sh): " << dir;
  make_memory(256 << 20);
  const auto bzimage = read_file(dir / "vmlinuz");
  const auto initrd = read_file(dir / "initramfs.cpio.gz");
  auto loaded = load(bzimage, "console=ttyS0", initrd);
  ASSERT_TRUE(loaded.has_value()) << loaded.error().message;
  const uint64_t pref = read_le(bzimage, bp::kPrefAddress, 8);
  EXPECT_EQ(loaded->entry.rip, pref + 0x200);
  EXPECT_GE(zp(bp::kVersion, 2), bp::kMinVersion);
  EXPECT_EQ(zp(bp::kRamdiskSize, 4), initrd.size());
  EXPECT_GE(zp(bp::kRamdiskImage, 4), pref + read_le(bzimage, bp::kInitSize, 4));

  const auto vmlinux = read_file(dir / "vmlinux");
  ASSERT_TRUE(is_elf64_x86_64(vmlinux));
  make_memory(256 << 20);
  auto elf = load_vmlinux(*mem_, BootFiles{vmlinux, initrd, "", "console=ttyS0"}, platform_);
  ASSERT_TRUE(elf.has_value()) << elf.error().message;
  // startup_64 sits at the start of the kernel's physical image (CONFIG_PHYSICAL_START).
  EXPECT_EQ(elf->entry.rip, read_le(vmlinux, 0x18, 8));
  EXPECT_GE(elf->entry.rip, layout::kHighMemory);
  EXPECT_EQ(zp(bp::kRamdiskSize, 4), initrd.size());
}

}  // namespace
}  // namespace vessel::boot
