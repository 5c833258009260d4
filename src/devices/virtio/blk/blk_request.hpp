// The virtio-blk request protocol (virtio 1.2 §5.2.6), parsed and executed against a
// BlockBackend. A request is a 16-byte header (type, reserved, sector) in device-readable
// buffers, then data (readable for writes, discard and write-zeroes segments; writable for
// reads and get-id), then one writable status byte: the last byte of the chain.
//
// Checks (each failure answers with a status, the backend untouched):
//  - no room for header or status: the chain is returned with nothing written (no status can
//    be reported); it counts as malformed;
//  - read/write lengths not a multiple of 512, or any sector range past the disk's end:
//    VIRTIO_BLK_S_IOERR;
//  - writes, discard and write-zeroes on a read-only disk: VIRTIO_BLK_S_IOERR (what QEMU and
//    cloud-hypervisor answer; the driver must not send them once VIRTIO_BLK_F_RO is offered),
//    flush is accepted;
//  - discard / write-zeroes when not negotiated, unknown flags, unmap on discard, more
//    segments or sectors than the configuration allows, unknown request types:
//    VIRTIO_BLK_S_UNSUPP (or IOERR for limits, §5.2.6.2).
// Reads, writes and flushes are split in two so a device can batch them (BlockBackend::
// run_batch): prepare_request checks the chain and either answers at once or returns the
// BlockIo to run; finish_request writes the status once it ran. handle_request does both.
// Pure functions of the chain, the features and the backend, so they can be fuzzed alone.
#pragma once

#include <cstdint>
#include <optional>

#include "devices/virtio/blk/block_backend.hpp"
#include "devices/virtio/descriptor_chain.hpp"

namespace vessel::devices::virtio::blk {

inline constexpr uint64_t kSectorSize = 512;

// Request types and status values (§5.2.6).
inline constexpr uint32_t kTypeIn = 0;
inline constexpr uint32_t kTypeOut = 1;
inline constexpr uint32_t kTypeFlush = 4;
inline constexpr uint32_t kTypeGetId = 8;
inline constexpr uint32_t kTypeDiscard = 11;
inline constexpr uint32_t kTypeWriteZeroes = 13;
inline constexpr uint8_t kStatusOk = 0;
inline constexpr uint8_t kStatusIoErr = 1;
inline constexpr uint8_t kStatusUnsupp = 2;
inline constexpr unsigned kIdBytes = 20;

// Feature bits (§5.2.3).
inline constexpr unsigned kFeatureSegMax = 2;
inline constexpr unsigned kFeatureRo = 5;
inline constexpr unsigned kFeatureBlkSize = 6;
inline constexpr unsigned kFeatureFlush = 9;
inline constexpr unsigned kFeatureDiscard = 13;
inline constexpr unsigned kFeatureWriteZeroes = 14;

// Limits the device advertises in its configuration and enforces.
inline constexpr uint32_t kMaxDiscardSectors = 1u << 22;  // 2 GiB per segment
inline constexpr uint32_t kMaxSegments = 16;

struct Completion {
  uint32_t written;               // bytes written into the chain, status included (the used length)
  std::optional<uint8_t> status;  // nullopt: malformed chain, nothing reported
};

// A checked request: either answered (`io` empty, the status already in the chain) or a
// transfer or flush still to run.
struct Prepared {
  Completion done{0, std::nullopt};
  std::optional<BlockIo> io;
  uint32_t data_in = 0;  // bytes the read puts into the chain when it succeeds
};

Prepared prepare_request(BlockBackend& backend, uint64_t features, const DescriptorChain& chain);
// Writes the status of a prepared request whose `io` ran (io->ok) and returns its completion.
Completion finish_request(const DescriptorChain& chain, const Prepared& prepared);
Completion handle_request(BlockBackend& backend, uint64_t features, const DescriptorChain& chain);

}  // namespace vessel::devices::virtio::blk
