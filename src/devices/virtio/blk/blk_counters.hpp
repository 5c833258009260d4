// BlkCounters: one virtio-blk device's figures (Firecracker's "block" metrics). A plain
// struct, so the machine can sum the disks with += without knowing the device.
#pragma once

#include <cstdint>

namespace vessel::devices::virtio {

struct BlkCounters {
  uint64_t read_bytes = 0;
  uint64_t write_bytes = 0;
  uint64_t read_count = 0;
  uint64_t write_count = 0;
  uint64_t flush_count = 0;
  uint64_t invalid_reqs_count = 0;  // error status answered without the backend, or malformed
  uint64_t execute_fails = 0;       // the backend failed a read, write or flush

  BlkCounters& operator+=(const BlkCounters& o) {
    read_bytes += o.read_bytes;
    write_bytes += o.write_bytes;
    read_count += o.read_count;
    write_count += o.write_count;
    flush_count += o.flush_count;
    invalid_reqs_count += o.invalid_reqs_count;
    execute_fails += o.execute_fails;
    return *this;
  }
};

}  // namespace vessel::devices::virtio
