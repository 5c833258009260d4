// VirtioBlk: the block device (virtio 1.2 §5.2), one request queue, over a BlockBackend.
// Offers SEG_MAX, BLK_SIZE (512), FLUSH, DISCARD and WRITE_ZEROES, and RO for read-only
// backends. Requests are executed inside process_queue (on the notifying vCPU's thread): the
// reads, writes and flushes of one notification as one batch (BlockBackend::run_batch), so an
// io_uring backend overlaps them; see blk_request.hpp for the checks. A flush is answered only
// after the backend made every earlier write durable.
//
// Counters (Firecracker's "block" metrics): bytes and requests read and written, flushes,
// invalid requests (answered with an error status, or malformed) and backend failures. Kept
// in relaxed atomics: process_queue runs under the core's lock, the metrics reader does not.
//
// Wiring: auto disk = VESSEL_TRY(FileBackend::open(path, read_only));
//         auto blk = std::make_shared<VirtioBlk>(std::move(disk));
//         then a transport: VirtioPci(blk, memory) or VirtioMmio(blk, memory, irq).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "devices/virtio/blk/blk_counters.hpp"
#include "devices/virtio/blk/blk_request.hpp"
#include "devices/virtio/blk/block_backend.hpp"
#include "devices/virtio/virtio_device.hpp"
#include "devices/virtio/virtio_spec.hpp"

namespace vessel::devices::virtio {

class VirtioBlk final : public VirtioDevice {
 public:
  static constexpr uint16_t kQueueSize = 256;
  static constexpr uint32_t kConfigSize = 60;  // through write_zeroes_may_unmap + padding

  explicit VirtioBlk(std::unique_ptr<BlockBackend> backend);

  std::string_view name() const override { return "blk"; }
  uint16_t device_type() const override { return kDeviceIdBlock; }
  uint64_t device_features() const override;
  uint16_t queue_count() const override { return 1; }
  uint16_t queue_max_size() const override { return kQueueSize; }
  uint32_t config_size() const override { return kConfigSize; }
  void read_config(uint32_t offset, std::span<uint8_t> data) override;
  void activate(uint64_t features) override { features_ = features; }
  void reset() override { features_ = 0; }
  void process_queue(uint16_t index, Virtqueue& queue) override;
  // Requests complete before the vCPU that notified goes on: only the features are state.
  Result<void> save_state(bus::StateWriter& out) const override {
    out(features_, malformed_);
    return {};
  }
  Result<void> load_state(bus::StateReader& in) override {
    in(features_, malformed_);
    return {};
  }

  BlockBackend& backend() { return *backend_; }
  uint64_t malformed_requests() const { return malformed_; }
  BlkCounters counters() const;

 private:
  struct Pending {
    DescriptorChain chain;
    blk::Prepared prepared;
  };

  std::unique_ptr<BlockBackend> backend_;
  std::vector<Pending> chains_;  // reused between notifications
  std::vector<BlockIo> batch_;
  void count_answered(const blk::Completion& done);
  void count_executed(const BlockIo& io);

  uint64_t features_ = 0;
  uint64_t malformed_ = 0;
  struct {
    std::atomic<uint64_t> read_bytes{0}, write_bytes{0}, read_count{0}, write_count{0},
        flush_count{0}, invalid_reqs_count{0}, execute_fails{0};
  } counters_;
};

}  // namespace vessel::devices::virtio
