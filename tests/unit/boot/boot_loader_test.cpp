// Loader tests: tiny images are built here byte by byte, written to temporary files, loaded
// into a small guest RAM, and the memory contents and entry state are checked.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "boot/format.hpp"
#include "boot/loader.hpp"
#include "boot/multiboot_info.hpp"

namespace vessel::boot {
namespace {

using Bytes = std::vector<uint8_t>;
constexpr uint64_t kRam = 16 << 20;

void put16(Bytes& b, size_t off, uint16_t v) {
  std::memcpy(b.data() + off, &v, 2);
}
void put32(Bytes& b, size_t off, uint32_t v) {
  std::memcpy(b.data() + off, &v, 4);
}

class TempFile {
 public:
  explicit TempFile(const Bytes& bytes) {
    char name[] = "/tmp/vessel-boot-test-XXXXXX";
    const int fd = ::mkstemp(name);
    path_ = name;
    if (fd >= 0) {
      EXPECT_EQ(::write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
      ::close(fd);
    }
  }
  ~TempFile() { std::filesystem::remove(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A multiboot header (magic, flags, checksum) at `off`.
void put_multiboot_header(Bytes& b, size_t off, uint32_t flags) {
  put32(b, off, 0x1BADB002);
  put32(b, off + 4, flags);
  put32(b, off + 8, static_cast<uint32_t>(0u - 0x1BADB002u - flags));
}

struct Segment {
  uint32_t paddr, vaddr;
  Bytes data;
  uint32_t mem_size;
};

// An i386 ET_EXEC with one program header per segment; data follows the headers, then a
// multiboot header (so it lies in the first 8 KiB).
Bytes make_elf(const std::vector<Segment>& segments, uint32_t entry) {
  const size_t phoff = 52, data_start = 0x100;
  Bytes b(data_start, 0);
  std::memcpy(b.data(),
              "\x7f"
              "ELF",
              4);
  b[4] = 1;         // ELFCLASS32
  b[5] = 1;         // little-endian
  b[6] = 1;         // EV_CURRENT
  put16(b, 16, 2);  // ET_EXEC
  put16(b, 18, 3);  // EM_386
  put32(b, 20, 1);
  put32(b, 24, entry);
  put32(b, 28, phoff);
  put16(b, 40, 52);
  put16(b, 42, 32);
  put16(b, 44, static_cast<uint16_t>(segments.size()));
  for (size_t i = 0; i < segments.size(); ++i) {
    const size_t ph = phoff + 32 * i;
    put32(b, ph, 1);  // PT_LOAD
    put32(b, ph + 4, static_cast<uint32_t>(b.size()));
    put32(b, ph + 8, segments[i].vaddr);
    put32(b, ph + 12, segments[i].paddr);
    put32(b, ph + 16, static_cast<uint32_t>(segments[i].data.size()));
    put32(b, ph + 20, segments[i].mem_size);
    b.insert(b.end(), segments[i].data.begin(), segments[i].data.end());
  }
  while (b.size() % 4) b.push_back(0);
  const size_t mb = b.size();
  b.resize(b.size() + 12);
  put_multiboot_header(b, mb, 0x3);  // page-align modules, want memory info
  return b;
}

class BootLoader : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = memory::GuestMemory::create(kRam);
    ASSERT_TRUE(m);
    mem_.emplace(std::move(*m));
  }
  Result<LoadedImage> load(const Bytes& bytes, config::BootSource source = {}) {
    TempFile file(bytes);
    source.kernel = file.path();
    last_path_ = file.path();
    return load_kernel(*mem_, source);
  }
  uint32_t u32(uint64_t gpa) { return mem_->read_obj<uint32_t>(gpa).value(); }
  uint8_t u8(uint64_t gpa) { return mem_->read_obj<uint8_t>(gpa).value(); }
  std::string cstring(uint64_t gpa) {
    std::string s;
    for (uint8_t c; (c = u8(gpa)) != 0; ++gpa) s.push_back(static_cast<char>(c));
    return s;
  }
  void expect_error(const Result<LoadedImage>& r, const std::string& words) {
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find(words), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(last_path_), std::string::npos) << r.error().message;
  }

  std::optional<memory::GuestMemory> mem_;
  std::string last_path_;
};

TEST_F(BootLoader, FlatBinaryLoadsAtBootSectorAddressInRealMode) {
  const Bytes code = {0xfa, 0xf4, 0x55, 0xaa};  // cli; hlt
  auto image = load(code);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->format, "flat");
  for (size_t i = 0; i < code.size(); ++i) EXPECT_EQ(u8(0x7c00 + i), code[i]);
  EXPECT_EQ(image->entry.rip, 0x7c00u);
  EXPECT_EQ(image->entry.seg[arch::kCs].selector, 0);
  EXPECT_EQ(image->entry.seg[arch::kCs].base, 0u);
  EXPECT_EQ(image->entry.gpr[arch::kRsp], 0x7c00u);
  EXPECT_EQ(image->entry.cr0 & arch::cr0::kPE, 0u);
}

TEST_F(BootLoader, FlatBinaryAboveSegmentUsesCsForTheHighBits) {
  config::BootSource source;
  source.load_address = 0x12345;
  auto image = load(Bytes{0x90, 0xf4}, source);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(u8(0x12345), 0x90);
  EXPECT_EQ(image->entry.seg[arch::kCs].selector, 0x1234);
  EXPECT_EQ(image->entry.seg[arch::kCs].base, 0x12340u);
  EXPECT_EQ(image->entry.rip, 0x5u);
  // The stack ends just below the image.
  EXPECT_EQ(image->entry.seg[arch::kSs].base + image->entry.gpr[arch::kRsp], 0x12340u - 0x10);
}

TEST_F(BootLoader, FlatErrors) {
  config::BootSource source;
  source.load_address = 0x100000;  // real mode cannot reach it
  expect_error(load(Bytes{1, 2}, source), "not below 1 MiB");
  auto small = memory::GuestMemory::create(0x8000);
  ASSERT_TRUE(small);
  TempFile file(Bytes(0x1000, 0x90));
  auto r = load_kernel(*small, config::BootSource{file.path(), "", "", std::nullopt});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("does not fit in guest RAM"), std::string::npos);
  EXPECT_NE(r.error().message.find(file.path()), std::string::npos);
}

TEST_F(BootLoader, FileErrorsNameTheFile) {
  expect_error(load(Bytes{}), "empty");
  config::BootSource source;
  source.kernel = "/nonexistent/kernel.bin";
  auto r = load_kernel(*mem_, source);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/kernel.bin"), std::string::npos);
  EXPECT_NE(r.error().message.find("cannot open"), std::string::npos);
  source.kernel = "/tmp";
  r = load_kernel(*mem_, source);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos);
  EXPECT_FALSE(load_kernel(*mem_, config::BootSource{}));
}

TEST_F(BootLoader, MultibootElfLoadsSegmentsZeroesBssAndBuildsInfo) {
  // Dirty the bss first so zeroing is observable.
  ASSERT_TRUE(mem_->write_obj<uint32_t>(0x100004, 0xdeadbeef));
  Bytes text = {0xf4, 0xeb, 0xfd, 0x00};  // hlt; jmp $-1
  auto bytes =
      make_elf({{0x100000, 0x100000, text, 0x1000}, {0x102000, 0x102000, {7, 8}, 2}}, 0x100000);
  config::BootSource source;
  source.cmdline = "console=ttyS0 quiet";
  auto image = load(bytes, source);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->format, "multiboot");
  EXPECT_EQ(u32(0x100000), 0x00fdebf4u);
  EXPECT_EQ(u32(0x100004), 0u);
  EXPECT_EQ(u8(0x102000), 7);
  EXPECT_EQ(u8(0x102001), 8);

  const arch::CpuState& s = image->entry;
  EXPECT_EQ(s.rip, 0x100000u);
  EXPECT_EQ(s.gpr[arch::kRax], 0x2BADB002u);
  EXPECT_EQ(s.cr0 & arch::cr0::kPE, arch::cr0::kPE);
  EXPECT_EQ(s.cr0 & arch::cr0::kPG, 0u);
  EXPECT_TRUE(s.seg[arch::kCs].db);
  EXPECT_EQ(s.seg[arch::kCs].limit, 0xffffffffu);
  EXPECT_EQ(s.rflags & (arch::rflags::kIF | arch::rflags::kVM), 0u);

  const uint64_t info = s.gpr[arch::kRbx];
  EXPECT_EQ(info, kMultibootInfoAddress);
  const uint32_t flags = u32(info);
  EXPECT_TRUE(flags & mb_info_flags::kMemory);
  EXPECT_TRUE(flags & mb_info_flags::kMmap);
  EXPECT_FALSE(flags & mb_info_flags::kMods);
  EXPECT_EQ(u32(info + 4), 640u);                      // mem_lower, KiB
  EXPECT_EQ(u32(info + 8), (kRam - 0x100000) / 1024);  // mem_upper, KiB
  EXPECT_EQ(cstring(u32(info + 16)), "console=ttyS0 quiet");
  EXPECT_EQ(cstring(u32(info + 64)), "vessel");

  // Memory map: available low memory, the reserved legacy hole, available RAM from 1 MiB.
  const uint32_t mmap_len = u32(info + 44), mmap = u32(info + 48);
  ASSERT_EQ(mmap_len, 3u * 24);
  const uint32_t want[3][3] = {
      {0, 0xA0000, 1}, {0xA0000, 0x60000, 2}, {0x100000, kRam - 0x100000, 1}};
  for (int i = 0; i < 3; ++i) {
    const uint64_t e = mmap + 24u * i;
    EXPECT_EQ(u32(e), 20u);
    EXPECT_EQ(u32(e + 4), want[i][0]);
    EXPECT_EQ(u32(e + 12), want[i][1]);
    EXPECT_EQ(u32(e + 20), want[i][2]);
  }
}

TEST_F(BootLoader, MultibootInitrdBecomesAPageAlignedModule) {
  auto bytes = make_elf({{0x100000, 0x100000, {0xf4}, 0x1234}}, 0x100000);
  const Bytes initrd = {'i', 'n', 'i', 't', 'r', 'd'};
  TempFile initrd_file(initrd);
  config::BootSource source;
  source.initrd = initrd_file.path();
  auto image = load(bytes, source);
  ASSERT_TRUE(image) << image.error().message;
  const uint64_t info = image->entry.gpr[arch::kRbx];
  ASSERT_TRUE(u32(info) & mb_info_flags::kMods);
  EXPECT_EQ(u32(info + 20), 1u);
  const uint32_t mod = u32(info + 24);
  EXPECT_EQ(u32(mod), 0x102000u);  // first page after 0x100000 + 0x1234
  EXPECT_EQ(u32(mod + 4), 0x102000u + initrd.size());
  EXPECT_EQ(cstring(u32(mod + 8)), initrd_file.path());
  EXPECT_EQ(u8(0x102000), 'i');
  EXPECT_EQ(u8(0x102005), 'd');
}

TEST_F(BootLoader, MultibootEntryIsTranslatedFromVirtualToPhysical) {
  auto bytes = make_elf({{0x200000, 0xC0200000, {0x90, 0x90, 0xf4}, 3}}, 0xC0200002);
  auto image = load(bytes);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->entry.rip, 0x200002u);
  EXPECT_EQ(u8(0x200002), 0xf4);
}

TEST_F(BootLoader, MultibootAoutKludgeUsesTheAddressFields) {
  // File: header at offset 0 loaded at 0x100000; code follows; bss up to 0x101000.
  Bytes b(32 + 4, 0);
  put_multiboot_header(b, 0, 1u << 16);
  put32(b, 12, 0x100000);  // header_addr
  put32(b, 16, 0x100000);  // load_addr
  put32(b, 20, 0);         // load_end_addr: whole file
  put32(b, 24, 0x101000);  // bss_end_addr
  put32(b, 28, 0x100020);  // entry_addr
  put32(b, 32, 0xfdebf4f4);
  ASSERT_TRUE(mem_->write_obj<uint32_t>(0x100800, 0x12345678));
  auto image = load(b);
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->entry.rip, 0x100020u);
  EXPECT_EQ(u32(0x100000), 0x1BADB002u);
  EXPECT_EQ(u32(0x100020), 0xfdebf4f4u);
  EXPECT_EQ(u32(0x100800), 0u);

  put32(b, 28, 0x200000);  // entry outside the image
  expect_error(load(b), "entry_addr");
}

TEST_F(BootLoader, MultibootErrors) {
  const Bytes code = {0xf4};
  // Segment outside RAM.
  expect_error(load(make_elf({{0x2000000, 0x2000000, code, 1}}, 0x2000000)), "outside guest RAM");
  // Bss running off the end of RAM.
  expect_error(load(make_elf({{0x100000, 0x100000, code, kRam}}, 0x100000)), "outside guest RAM");
  // Overlapping the boot info area.
  expect_error(load(make_elf({{0x1000, 0x1000, code, 1}}, 0x1000)), "boot info area");
  // Entry outside every segment.
  expect_error(load(make_elf({{0x100000, 0x100000, code, 1}}, 0x300000)), "entry point");

  // Truncated: a segment whose file bytes run past the end of the file.
  Bytes bad = make_elf({{0x100000, 0x100000, code, 1}}, 0x100000);
  put32(bad, 52 + 16, 0x10000);  // p_filesz
  put32(bad, 52 + 20, 0x10000);  // p_memsz
  expect_error(load(bad), "truncated ELF");
  // Truncated: program header table past the end.
  bad = make_elf({{0x100000, 0x100000, code, 1}}, 0x100000);
  put32(bad, 28, 0x1000);  // e_phoff
  expect_error(load(bad), "truncated ELF");
  // file size > memory size.
  bad = make_elf({{0x100000, 0x100000, {1, 2, 3}, 1}}, 0x100000);
  expect_error(load(bad), "exceeds memory size");
  // ELF64 and other machines.
  bad = make_elf({{0x100000, 0x100000, code, 1}}, 0x100000);
  bad[4] = 2;
  expect_error(load(bad), "ELF64");
  bad[4] = 1;
  put16(bad, 18, 62);
  expect_error(load(bad), "i386");
  // A header asking for a video mode.
  bad = make_elf({{0x100000, 0x100000, code, 1}}, 0x100000);
  put_multiboot_header(bad, bad.size() - 12, 0x4);
  expect_error(load(bad), "video");
  // A missing initrd names the initrd.
  config::BootSource source;
  source.initrd = "/nonexistent/initrd.img";
  auto r = load(make_elf({{0x100000, 0x100000, code, 1}}, 0x100000), source);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/initrd.img"), std::string::npos);
}

TEST_F(BootLoader, BadMultibootChecksumMeansNotMultiboot) {
  Bytes b = make_elf({{0x100000, 0x100000, {0xf4}, 1}}, 0x100000);
  put32(b, b.size() - 4, 0);  // break the checksum: now a plain ELF
  EXPECT_EQ(detect_format(b), ImageFormat::kElf);
  expect_error(load(b), "without a multiboot header");
}

TEST_F(BootLoader, LinuxIsRecognisedAndRefusedClearly) {
  Bytes b(0x400, 0);
  std::memcpy(b.data() + 0x202, "HdrS", 4);
  EXPECT_EQ(detect_format(b), ImageFormat::kLinuxBzImage);
  expect_error(load(b), "boot_flag is not 0xAA55");  // a header alone is not a kernel
}

TEST(BootFormat, Detection) {
  EXPECT_EQ(detect_format(Bytes{0x90, 0xf4}), ImageFormat::kFlat);
  Bytes mb(0x2000 + 16, 0);
  put_multiboot_header(mb, 0x2000, 0);  // beyond the 8 KiB search window
  EXPECT_EQ(detect_format(mb), ImageFormat::kFlat);
  put_multiboot_header(mb, 0x1ff4, 0);  // last slot inside it
  EXPECT_EQ(detect_format(mb), ImageFormat::kMultiboot);
  Bytes misaligned(64, 0);
  put_multiboot_header(misaligned, 2, 0);
  EXPECT_EQ(detect_format(misaligned), ImageFormat::kFlat);
}

}  // namespace
}  // namespace vessel::boot
