// UringBackend: a raw image file whose reads, writes and flushes go through io_uring
// (liburing). A batch (one queue notification's requests) is submitted with one system call
// and runs overlapped in the kernel; the calling vCPU thread waits for the whole batch, so the
// driver sees the same completion order rules as with FileBackend. A flush is an
// IORING_OP_FSYNC with IORING_FSYNC_DATASYNC marked IOSQE_IO_DRAIN: it starts only after every
// earlier entry of the batch completed, so it covers them (§5.2.6.2).
//
// Short transfers and EAGAIN/EINTR are finished synchronously (FileBackend); discard,
// write-zeroes and single calls also go to the FileBackend. If the ring stops working it is
// dropped for good and everything runs synchronously (logged once).
//
// open() probes io_uring (ring setup and a NOP round trip); when that fails it returns the
// error, and the caller falls back to FileBackend.
#pragma once

#include <liburing.h>

#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/blk/file_backend.hpp"

namespace vessel::devices::virtio {

class UringBackend final : public BlockBackend {
 public:
  static constexpr unsigned kRingEntries = 256;  // the queue size: one batch fits

  static Result<std::unique_ptr<UringBackend>> open(std::unique_ptr<FileBackend> file);
  ~UringBackend() override;
  UringBackend(const UringBackend&) = delete;
  UringBackend& operator=(const UringBackend&) = delete;

  uint64_t size() const override { return file_->size(); }
  bool read_only() const override { return file_->read_only(); }
  std::string id() const override { return file_->id(); }
  Result<void> read(uint64_t offset, Buffers buffers) override {
    return file_->read(offset, buffers);
  }
  Result<void> write(uint64_t offset, Buffers buffers) override {
    return file_->write(offset, buffers);
  }
  Result<void> flush() override { return file_->flush(); }
  Result<void> discard(uint64_t offset, uint64_t length) override {
    return file_->discard(offset, length);
  }
  Result<void> write_zeroes(uint64_t offset, uint64_t length, bool unmap) override {
    return file_->write_zeroes(offset, length, unmap);
  }
  void run_batch(std::span<BlockIo> batch) override;
  std::string_view engine() const override { return ring_ok_ ? "io_uring" : "sync"; }

 private:
  explicit UringBackend(std::unique_ptr<FileBackend> file) : file_(std::move(file)) {}
  // Queues entries of `batch` from `first` while the ring has room; returns how many.
  size_t queue(std::span<BlockIo> batch, size_t first);
  // Submits and reaps until `count` completions arrived; false if the ring failed.
  bool reap(std::span<BlockIo> batch, size_t count);
  // Handles one completion: `res` bytes (or -errno) for batch[index].
  void complete(BlockIo& io, size_t index, int res);
  void drop_ring(int error);

  std::unique_ptr<FileBackend> file_;
  io_uring ring_{};
  bool ring_ok_ = false;
  std::vector<std::vector<iovec>> iovecs_;  // per batch entry, alive until it completes
  std::vector<bool> done_;                  // per batch entry: completion seen
};

}  // namespace vessel::devices::virtio
