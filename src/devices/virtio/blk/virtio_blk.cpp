#include "devices/virtio/blk/virtio_blk.hpp"

#include <array>
#include <cstring>

#include "base/log.hpp"
#include "devices/virtio/blk/blk_request.hpp"

namespace vessel::devices::virtio {

using namespace blk;

VirtioBlk::VirtioBlk(std::unique_ptr<BlockBackend> backend) : backend_(std::move(backend)) {}

uint64_t VirtioBlk::device_features() const {
  uint64_t f = feature_bit(kFeatureSegMax) | feature_bit(kFeatureBlkSize) |
               feature_bit(kFeatureFlush) | feature_bit(kFeatureDiscard) |
               feature_bit(kFeatureWriteZeroes);
  if (backend_->read_only()) f |= feature_bit(kFeatureRo);
  return f;
}

void VirtioBlk::read_config(uint32_t offset, std::span<uint8_t> data) {
  // struct virtio_blk_config (§5.2.4), little-endian.
  std::array<uint8_t, kConfigSize> c{};
  auto put = [&c](size_t at, auto v) { std::memcpy(&c[at], &v, sizeof v); };
  put(0, uint64_t{backend_->size() / kSectorSize});  // capacity
  put(12, uint32_t{kQueueSize - 2});                 // seg_max: header and status take two
  put(20, uint32_t{kSectorSize});                    // blk_size
  put(36, uint32_t{kMaxDiscardSectors});             // max_discard_sectors
  put(40, uint32_t{kMaxSegments});                   // max_discard_seg
  put(44, uint32_t{1});                              // discard_sector_alignment
  put(48, uint32_t{kMaxDiscardSectors});             // max_write_zeroes_sectors
  put(52, uint32_t{kMaxSegments});                   // max_write_zeroes_seg
  c[56] = 1;                                         // write_zeroes_may_unmap
  for (size_t i = 0; i < data.size(); ++i) data[i] = offset + i < c.size() ? c[offset + i] : 0;
}

void VirtioBlk::process_queue(uint16_t, Virtqueue& queue) {
  // Every available request is checked first; the transfers and flushes among them then run
  // as one batch (overlapped by an io_uring backend) before any is returned to the driver.
  // Answered requests go back at once. Chains stay valid meanwhile: they are guest RAM.
  size_t pending = 0;
  batch_.clear();
  for (;;) {
    if (pending == chains_.size()) chains_.emplace_back();
    Pending& slot = chains_[pending];
    if (queue.pop(slot.chain) != Virtqueue::Pop::kChain) break;
    slot.prepared = prepare_request(*backend_, features_, slot.chain);
    if (!slot.prepared.io) {
      count_answered(slot.prepared.done);
      if (!slot.prepared.done.status && malformed_++ == 0)
        log::warn("virtio blk: request without room for a header or status returned unanswered");
      queue.push_used(slot.chain.head, slot.prepared.done.written);
      continue;
    }
    batch_.push_back(std::move(*slot.prepared.io));
    ++pending;
  }
  if (pending == 0) return;
  backend_->run_batch(batch_);
  for (size_t i = 0; i < pending; ++i) {
    Pending& slot = chains_[i];
    slot.prepared.io->ok = batch_[i].ok;
    count_executed(batch_[i]);
    queue.push_used(slot.chain.head, finish_request(slot.chain, slot.prepared).written);
  }
}

namespace {
void add(std::atomic<uint64_t>& counter, uint64_t n) {
  counter.fetch_add(n, std::memory_order_relaxed);
}
}  // namespace

void VirtioBlk::count_answered(const Completion& done) {
  // Answered without the backend: get-id, discard and write-zeroes succeed here; anything
  // else is a request refused (bad range, unsupported) or malformed.
  if (!done.status || *done.status != kStatusOk) add(counters_.invalid_reqs_count, 1);
}

void VirtioBlk::count_executed(const BlockIo& io) {
  if (!io.ok) return add(counters_.execute_fails, 1);
  uint64_t bytes = 0;
  for (auto b : io.buffers) bytes += b.size();
  switch (io.op) {
    case BlockIo::Op::kRead:
      add(counters_.read_count, 1);
      add(counters_.read_bytes, bytes);
      break;
    case BlockIo::Op::kWrite:
      add(counters_.write_count, 1);
      add(counters_.write_bytes, bytes);
      break;
    case BlockIo::Op::kFlush:
      add(counters_.flush_count, 1);
      break;
  }
}

BlkCounters VirtioBlk::counters() const {
  auto get = [](const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); };
  return BlkCounters{get(counters_.read_bytes),   get(counters_.write_bytes),
                     get(counters_.read_count),   get(counters_.write_count),
                     get(counters_.flush_count),  get(counters_.invalid_reqs_count),
                     get(counters_.execute_fails)};
}

}  // namespace vessel::devices::virtio
