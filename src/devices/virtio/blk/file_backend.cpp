#include "devices/virtio/blk/file_backend.hpp"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace vessel::devices::virtio {
namespace {

constexpr size_t kMaxIov = 1024;  // IOV_MAX on Linux

}  // namespace

Result<std::unique_ptr<FileBackend>> FileBackend::open(const std::string& path, bool read_only) {
  UniqueFd fd(::open(path.c_str(), (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!fd.valid()) return fail("opening disk image {}: {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return fail("stat {}: {}", path, std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("disk image {} is not a regular file", path);
  // The serial number: device and inode, stable for the life of the file.
  std::string id = fmt::format("vessel-{:x}-{:x}", st.st_dev, st.st_ino).substr(0, 20);
  return std::unique_ptr<FileBackend>(
      new FileBackend(std::move(fd), static_cast<uint64_t>(st.st_size), read_only, id));
}

Result<void> FileBackend::transfer(uint64_t offset, Buffers buffers, bool write) {
  std::vector<iovec> iov;
  for (auto b : buffers)
    if (!b.empty()) iov.push_back(iovec{b.data(), b.size()});
  size_t first = 0;
  while (first < iov.size()) {
    const int count = static_cast<int>(std::min(iov.size() - first, kMaxIov));
    const ssize_t n = write ? pwritev(fd_.get(), &iov[first], count, static_cast<off_t>(offset))
                            : preadv(fd_.get(), &iov[first], count, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("disk {}: {}", write ? "write" : "read", std::strerror(errno));
    if (n == 0) return fail("disk {}: unexpected end of file", write ? "write" : "read");
    offset += static_cast<uint64_t>(n);
    // Drop the fully transferred iovecs, trim the partially transferred one.
    size_t left = static_cast<size_t>(n);
    while (left > 0 && first < iov.size()) {
      const size_t step = std::min(left, iov[first].iov_len);
      iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + step;
      iov[first].iov_len -= step;
      left -= step;
      if (iov[first].iov_len == 0) ++first;
    }
  }
  return {};
}

Result<void> FileBackend::read(uint64_t offset, Buffers buffers) {
  return transfer(offset, buffers, false);
}

Result<void> FileBackend::write(uint64_t offset, Buffers buffers) {
  if (read_only_) return fail("disk is read-only");
  return transfer(offset, buffers, true);
}

Result<void> FileBackend::flush() {
  if (read_only_) return {};
  while (fdatasync(fd_.get()) != 0)
    if (errno != EINTR) return fail("disk flush: {}", std::strerror(errno));
  return {};
}

Result<void> FileBackend::write_zero_bytes(uint64_t offset, uint64_t length) {
  static const std::vector<uint8_t> zeroes(1 << 20);
  while (length > 0) {
    const uint64_t n = std::min<uint64_t>(length, zeroes.size());
    std::span<uint8_t> chunk(const_cast<uint8_t*>(zeroes.data()), n);  // only read from
    VESSEL_TRY_VOID(transfer(offset, std::span(&chunk, 1), true));
    offset += n;
    length -= n;
  }
  return {};
}

Result<void> FileBackend::discard(uint64_t offset, uint64_t length) {
  if (read_only_) return fail("disk is read-only");
  if (fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                static_cast<off_t>(length)) == 0)
    return {};
  // Discard is a hint (§5.2.6.2): a filesystem without hole punching just keeps the data.
  return {};
}

Result<void> FileBackend::write_zeroes(uint64_t offset, uint64_t length, bool unmap) {
  if (read_only_) return fail("disk is read-only");
  const int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                         : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
  if (fallocate(fd_.get(), mode, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0)
    return {};
  if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
    return fail("disk write-zeroes: {}", std::strerror(errno));
  return write_zero_bytes(offset, length);
}

}  // namespace vessel::devices::virtio
