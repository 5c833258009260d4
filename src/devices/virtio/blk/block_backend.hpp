// BlockBackend: the host side of a virtio-blk disk, so the request parser never touches a file
// descriptor. Offsets and lengths are in bytes and already checked against size() by the
// device. Buffers are guest memory spans (zero-copy). Implementations:
//  - FileBackend (file_backend.hpp): a raw image with synchronous preadv/pwritev on the calling
//    (vCPU) thread; flush is fdatasync, so a flushed write survives the VMM being killed.
//  - MemoryBackend (memory_backend.hpp): a byte vector, for tests, fuzzing and benchmarks.
// An io_uring backend can implement the same interface (liburing-dev is installed); the device
// would then complete requests from the event loop instead of inside process_queue.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/result.hpp"

namespace vessel::devices::virtio {

using Buffers = std::span<const std::span<uint8_t>>;

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
};

}  // namespace vessel::devices::virtio
