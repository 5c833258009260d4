// FileBackend: a raw disk image file, synchronous I/O (preadv/pwritev, restarted on short
// transfers and EINTR) on the calling thread. Opened O_RDONLY for read-only disks, so the image
// cannot change even through a bug in the request checks. discard punches a hole
// (fallocate PUNCH_HOLE); write-zeroes uses ZERO_RANGE or PUNCH_HOLE, falling back to writing
// zeroes where the filesystem supports neither. flush is fdatasync.
#pragma once

#include <memory>
#include <string>

#include "base/unique_fd.hpp"
#include "devices/virtio/blk/block_backend.hpp"

namespace vessel::devices::virtio {

class FileBackend final : public BlockBackend {
 public:
  static Result<std::unique_ptr<FileBackend>> open(const std::string& path, bool read_only);

  uint64_t size() const override { return size_; }
  bool read_only() const override { return read_only_; }
  std::string id() const override { return id_; }
  int fd() const { return fd_.get(); }
  Result<void> read(uint64_t offset, Buffers buffers) override;
  Result<void> write(uint64_t offset, Buffers buffers) override;
  Result<void> flush() override;
  Result<void> discard(uint64_t offset, uint64_t length) override;
  Result<void> write_zeroes(uint64_t offset, uint64_t length, bool unmap) override;

 private:
  FileBackend(UniqueFd fd, uint64_t size, bool read_only, std::string id)
      : fd_(std::move(fd)), size_(size), read_only_(read_only), id_(std::move(id)) {}
  Result<void> transfer(uint64_t offset, Buffers buffers, bool write);
  Result<void> write_zero_bytes(uint64_t offset, uint64_t length);

  UniqueFd fd_;
  uint64_t size_;
  bool read_only_;
  std::string id_;
};

}  // namespace vessel::devices::virtio
