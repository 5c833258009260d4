// BlockBackend: the host side of a virtio-blk disk, so the request parser never touches a file
// descriptor. Offsets and lengths are in bytes and already checked against size() by the
// device. Buffers are guest memory spans (zero-copy). Implementations:
//  - FileBackend (file_backend.hpp): a raw image with synchronous preadv/pwritev on the calling
//    (vCPU) thread; flush is fdatasync, so a flushed write survives the VMM being killed.
//  - UringBackend (uring_backend.hpp): the same file, with the reads, writes and flushes of one
//    queue notification submitted together to io_uring.
//  - MemoryBackend (memory_backend.hpp): a byte vector, for tests, fuzzing and benchmarks.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace vessel::devices::virtio {

using Buffers = std::span<const std::span<uint8_t>>;

// One read, write or flush of a batch (run_batch). Reads and writes in one batch may run in
// any order, as on real hardware (the driver only relies on completed requests); a flush runs
// after every earlier entry of its batch completed and before every later one starts, and
// covers all of them.
struct BlockIo {
  enum class Op : uint8_t { kRead, kWrite, kFlush };
  Op op = Op::kRead;
  uint64_t offset = 0;
  std::vector<std::span<uint8_t>> buffers;
  bool ok = false;  // set by run_batch
};

class BlockBackend {
 public:
  virtual ~BlockBackend() = default;
  virtual uint64_t size() const = 0;
  virtual bool read_only() const = 0;
  // A stable identifier for VIRTIO_BLK_T_GET_ID (at most 20 bytes are used).
  virtual std::string id() const = 0;
  virtual Result<void> read(uint64_t offset, Buffers buffers) = 0;
  virtual Result<void> write(uint64_t offset, Buffers buffers) = 0;
  // Durable once this returns (fdatasync): §5.2.6.2, no acknowledged flush loses data.
  virtual Result<void> flush() = 0;
  virtual Result<void> discard(uint64_t offset, uint64_t length) = 0;
  // Reads as zeroes afterwards; `unmap` allows deallocating the range.
  virtual Result<void> write_zeroes(uint64_t offset, uint64_t length, bool unmap) = 0;

  // Runs every entry and sets its `ok`; returns when all are done. This default runs them one
  // after the other with read/write/flush; asynchronous backends overlap them.
  virtual void run_batch(std::span<BlockIo> batch) {
    for (BlockIo& io : batch) {
      switch (io.op) {
        case BlockIo::Op::kRead:
          io.ok = read(io.offset, io.buffers).has_value();
          break;
        case BlockIo::Op::kWrite:
          io.ok = write(io.offset, io.buffers).has_value();
          break;
        case BlockIo::Op::kFlush:
          io.ok = flush().has_value();
          break;
      }
    }
  }
  // How requests are executed, for the log ("sync", "io_uring").
  virtual std::string_view engine() const { return "sync"; }
};

}  // namespace vessel::devices::virtio
