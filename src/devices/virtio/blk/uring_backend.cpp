#include "devices/virtio/blk/uring_backend.hpp"

#include <sys/uio.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"

namespace vessel::devices::virtio {
namespace {

constexpr size_t kMaxIov = 1024;  // UIO_MAXIOV: longer vectors are done synchronously

uint64_t total_bytes(const BlockIo& io) {
  uint64_t n = 0;
  for (auto b : io.buffers) n += b.size();
  return n;
}

// The buffers of `io` after its first `done` bytes.
std::vector<std::span<uint8_t>> remainder(const BlockIo& io, uint64_t done) {
  std::vector<std::span<uint8_t>> out;
  for (auto b : io.buffers) {
    if (done >= b.size()) {
      done -= b.size();
      continue;
    }
    out.push_back(b.subspan(done));
    done = 0;
  }
  return out;
}

}  // namespace

Result<std::unique_ptr<UringBackend>> UringBackend::open(std::unique_ptr<FileBackend> file) {
  std::unique_ptr<UringBackend> b(new UringBackend(std::move(file)));
  const int r = io_uring_queue_init(kRingEntries, &b->ring_, 0);
  if (r < 0) return fail("io_uring setup: {}", std::strerror(-r));
  b->ring_ok_ = true;
  // A NOP round trip: some sandboxes let the ring be created but refuse io_uring_enter.
  io_uring_sqe* sqe = io_uring_get_sqe(&b->ring_);
  io_uring_prep_nop(sqe);
  io_uring_sqe_set_data64(sqe, 0);
  int s = io_uring_submit_and_wait(&b->ring_, 1);
  if (s < 0) return fail("io_uring submit: {}", std::strerror(-s));
  io_uring_cqe* cqe = nullptr;
  s = io_uring_peek_cqe(&b->ring_, &cqe);
  if (s < 0 || cqe == nullptr) return fail("io_uring: no completion for a NOP");
  const int res = cqe->res;
  io_uring_cqe_seen(&b->ring_, cqe);
  if (res < 0) return fail("io_uring NOP: {}", std::strerror(-res));
  return b;
}

UringBackend::~UringBackend() {
  if (ring_ok_) io_uring_queue_exit(&ring_);
}

void UringBackend::drop_ring(int error) {
  log::warn("virtio blk: io_uring failed ({}); disk I/O continues synchronously",
            std::strerror(-error));
  io_uring_queue_exit(&ring_);
  ring_ok_ = false;
}

size_t UringBackend::queue(std::span<BlockIo> batch, size_t first) {
  size_t i = first;
  for (; i < batch.size(); ++i) {
    BlockIo& io = batch[i];
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) break;  // ring full: reap, then queue the rest
    std::vector<iovec>& iov = iovecs_[i];
    iov.clear();
    for (auto b : io.buffers)
      if (!b.empty()) iov.push_back(iovec{b.data(), b.size()});
    const int fd = file_->fd();
    const auto off = static_cast<__u64>(io.offset);
    if (io.op == BlockIo::Op::kFlush) {
      io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
      // Runs after every earlier entry completed, and before any later one starts.
      sqe->flags |= IOSQE_IO_DRAIN;
    } else if (iov.empty() || iov.size() > kMaxIov ||
               (io.op == BlockIo::Op::kWrite && read_only())) {
      io_uring_prep_nop(sqe);  // complete() does these synchronously
    } else if (io.op == BlockIo::Op::kRead) {
      io_uring_prep_readv(sqe, fd, iov.data(), static_cast<unsigned>(iov.size()), off);
    } else {
      io_uring_prep_writev(sqe, fd, iov.data(), static_cast<unsigned>(iov.size()), off);
    }
    io_uring_sqe_set_data64(sqe, i);
  }
  return i - first;
}

void UringBackend::complete(BlockIo& io, size_t index, int res) {
  done_[index] = true;
  if (io.op == BlockIo::Op::kFlush) {
    io.ok = res == 0 || ((res == -EINTR || res == -EAGAIN) && file_->flush());
    return;
  }
  const uint64_t want = total_bytes(io);
  const bool nop = iovecs_[index].empty() || iovecs_[index].size() > kMaxIov ||
                   (io.op == BlockIo::Op::kWrite && read_only());
  if (!nop && res >= 0 && static_cast<uint64_t>(res) == want) {
    io.ok = true;
    return;
  }
  if (!nop && res < 0 && res != -EINTR && res != -EAGAIN) {
    io.ok = false;
    return;
  }
  // Short transfer, a retryable error, or an entry not worth a ring slot: finish it here.
  const uint64_t done = (!nop && res > 0) ? static_cast<uint64_t>(res) : 0;
  const auto rest = remainder(io, done);
  auto r = io.op == BlockIo::Op::kRead ? file_->read(io.offset + done, rest)
                                       : file_->write(io.offset + done, rest);
  io.ok = r.has_value();
}

bool UringBackend::reap(std::span<BlockIo> batch, size_t count) {
  size_t got = 0;
  while (got < count) {
    const int r = io_uring_submit_and_wait(&ring_, 1);
    if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
      drop_ring(r);
      return false;
    }
    unsigned head = 0, seen = 0;
    io_uring_cqe* cqe = nullptr;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      const uint64_t index = io_uring_cqe_get_data64(cqe);
      if (index < batch.size()) complete(batch[index], index, cqe->res);
      ++seen;
    }
    io_uring_cq_advance(&ring_, seen);
    got += seen;
  }
  return true;
}

void UringBackend::run_batch(std::span<BlockIo> batch) {
  if (!ring_ok_) return BlockBackend::run_batch(batch);
  if (iovecs_.size() < batch.size()) iovecs_.resize(batch.size());
  done_.assign(batch.size(), false);
  size_t first = 0;
  while (first < batch.size()) {
    const size_t n = queue(batch, first);
    if (!reap(batch, n)) break;
    first += n;
  }
  if (ring_ok_) return;
  // The ring failed: whatever did not complete through it runs synchronously.
  for (size_t i = 0; i < batch.size(); ++i)
    if (!done_[i]) BlockBackend::run_batch(batch.subspan(i, 1));
}

}  // namespace vessel::devices::virtio
