#include "snapshot/snapshot_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.hpp"

namespace vessel::snapshot {
namespace {

constexpr size_t kMaxFileBytes = size_t{1} << 30;  // device state is small; refuse absurd files

void put_le(std::vector<uint8_t>& out, uint64_t v, unsigned size) {
  for (unsigned i = 0; i < size; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint32_t crc32_of(std::span<const uint8_t> bytes) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths: feed large buffers in pieces.
  while (!bytes.empty()) {
    const size_t n = std::min<size_t>(bytes.size(), 1u << 30);
    crc = ::crc32(crc, bytes.data(), static_cast<uInt>(n));
    bytes = bytes.subspan(n);
  }
  return static_cast<uint32_t>(crc);
}

// Bounds-checked little-endian reads over the file's bytes.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  size_t left() const { return bytes_.size() - pos_; }
  Result<uint64_t> le(unsigned size, const char* what) {
    if (left() < size) return fail("truncated in {}", what);
    uint64_t v = 0;
    for (unsigned i = 0; i < size; ++i) v |= uint64_t{bytes_[pos_ + i]} << (8 * i);
    pos_ += size;
    return v;
  }
  Result<std::span<const uint8_t>> take(uint64_t n, const char* what) {
    if (left() < n) return fail("truncated in {}", what);
    auto out = bytes_.subspan(pos_, n);
    pos_ += n;
    return out;
  }

 private:
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

}  // namespace

void SnapshotFile::add(SectionId id, std::vector<uint8_t> data) {
  sections.push_back({static_cast<uint32_t>(id), std::move(data)});
}

std::vector<const Section*> SnapshotFile::find(SectionId id) const {
  std::vector<const Section*> out;
  for (const auto& s : sections)
    if (s.id == static_cast<uint32_t>(id)) out.push_back(&s);
  return out;
}

std::vector<uint8_t> encode(const SnapshotFile& file) {
  std::vector<uint8_t> out(std::begin(kMagic), std::end(kMagic));
  put_le(out, file.format_version, 4);
  const size_t version_len = std::min<size_t>(file.vessel_version.size(), UINT16_MAX);
  put_le(out, version_len, 2);
  out.insert(out.end(), file.vessel_version.begin(), file.vessel_version.begin() + version_len);
  put_le(out, file.sections.size(), 4);
  for (const auto& s : file.sections) {
    put_le(out, s.id, 4);
    put_le(out, s.data.size(), 8);
    out.insert(out.end(), s.data.begin(), s.data.end());
  }
  put_le(out, crc32_of(out), 4);
  return out;
}

Result<SnapshotFile> decode(std::span<const uint8_t> bytes) {
  if (bytes.size() < sizeof kMagic || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return fail("not a vessel snapshot (bad magic)");
  Cursor c(bytes.subspan(sizeof kMagic));
  SnapshotFile file;
  file.format_version = static_cast<uint32_t>(VESSEL_TRY(c.le(4, "the header")));
  if (file.format_version != kFormatVersion)
    return fail("snapshot format version {} is not supported (this vessel reads version {})",
                file.format_version, kFormatVersion);
  // The checksum covers the whole file: check it before trusting any length inside.
  if (bytes.size() < sizeof kMagic + 4 + 4) return fail("truncated snapshot");
  const auto body = bytes.first(bytes.size() - 4);
  uint32_t stored = 0;
  for (unsigned i = 0; i < 4; ++i) stored |= uint32_t{bytes[body.size() + i]} << (8 * i);
  if (crc32_of(body) != stored)
    return fail("snapshot checksum mismatch: the file is corrupt or truncated");

  c = Cursor(body.subspan(sizeof kMagic + 4));
  const auto version_len = VESSEL_TRY(c.le(2, "the header"));
  const auto version = VESSEL_TRY(c.take(version_len, "the header"));
  file.vessel_version.assign(version.begin(), version.end());
  const auto count = VESSEL_TRY(c.le(4, "the header"));
  for (uint64_t i = 0; i < count; ++i) {
    Section s;
    s.id = static_cast<uint32_t>(VESSEL_TRY(c.le(4, "a section header")));
    const auto len = VESSEL_TRY(c.le(8, "a section header"));
    const auto data = VESSEL_TRY(c.take(len, "a section"));
    s.data.assign(data.begin(), data.end());
    file.sections.push_back(std::move(s));
  }
  if (c.left() != 0) return fail("{} unexpected bytes after the last section", c.left());
  return file;
}

Result<void> write_file(const std::string& path, const SnapshotFile& file) {
  const auto bytes = encode(file);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return fail("cannot create {}: {}", path, std::strerror(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write {}: {}", path, std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return {};
}

Result<SnapshotFile> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail("cannot open {}: {}", path, std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("cannot read {}: {}", path, std::strerror(errno));
    if (n == 0) break;
    if (bytes.size() + static_cast<size_t>(n) > kMaxFileBytes)
      return fail("{} is too large to be a vessel snapshot", path);
    bytes.insert(bytes.end(), buf, buf + n);
  }
  auto file = decode(bytes);
  if (!file) return fail("{}: {}", path, file.error().message);
  return file;
}

}  // namespace vessel::snapshot
