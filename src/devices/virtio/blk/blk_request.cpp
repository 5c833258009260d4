#include "devices/virtio/blk/blk_request.hpp"

#include <algorithm>
#include <cstring>
#include <variant>
#include <vector>

#include "devices/virtio/virtio_spec.hpp"

namespace vessel::devices::virtio::blk {
namespace {

struct Header {
  uint32_t type;
  uint32_t reserved;
  uint64_t sector;
};

struct Segment {
  uint64_t sector;
  uint32_t num_sectors;
  uint32_t flags;
};
constexpr uint32_t kSegmentUnmap = 1;

// Byte range of `sectors` sectors at `sector`, if it lies inside the disk.
std::optional<uint64_t> byte_offset(const BlockBackend& disk, uint64_t sector, uint64_t sectors) {
  const uint64_t capacity = disk.size() / kSectorSize;
  if (sector > capacity || sectors > capacity - sector) return std::nullopt;
  return sector * kSectorSize;
}

// The first `n` bytes of `buffers` after skipping `skip`, as spans.
std::vector<std::span<uint8_t>> slice(std::span<const std::span<uint8_t>> buffers, uint64_t skip,
                                      uint64_t n) {
  std::vector<std::span<uint8_t>> out;
  for (auto b : buffers) {
    if (n == 0) break;
    if (skip >= b.size()) {
      skip -= b.size();
      continue;
    }
    const uint64_t take = std::min<uint64_t>(b.size() - skip, n);
    out.push_back(b.subspan(skip, take));
    n -= take;
    skip = 0;
  }
  return out;
}

// The transfer of a read or write, or the status that refuses it.
std::variant<BlockIo, uint8_t> transfer(const BlockBackend& disk, const Header& h,
                                        const DescriptorChain& c, bool write, uint64_t len) {
  if ((write && disk.read_only()) || len % kSectorSize) return kStatusIoErr;
  auto offset = byte_offset(disk, h.sector, len / kSectorSize);
  if (!offset) return kStatusIoErr;
  BlockIo io;
  io.op = write ? BlockIo::Op::kWrite : BlockIo::Op::kRead;
  io.offset = *offset;
  io.buffers = write ? slice(c.readable, sizeof(Header), len) : slice(c.writable, 0, len);
  return io;
}

uint8_t do_segments(BlockBackend& disk, uint64_t features, const DescriptorChain& c, bool zeroes) {
  if (!(features & feature_bit(zeroes ? kFeatureWriteZeroes : kFeatureDiscard)))
    return kStatusUnsupp;
  const uint64_t bytes = c.readable_bytes - sizeof(Header);
  if (bytes == 0 || bytes % sizeof(Segment)) return kStatusUnsupp;
  if (bytes / sizeof(Segment) > kMaxSegments) return kStatusUnsupp;
  if (disk.read_only()) return kStatusIoErr;
  ChainReader reader(c.readable);
  reader.skip(sizeof(Header));
  std::vector<Segment> segments(bytes / sizeof(Segment));
  for (Segment& s : segments) {
    uint8_t raw[sizeof(Segment)];
    if (!reader.read(raw)) return kStatusIoErr;
    std::memcpy(&s, raw, sizeof s);
    // §5.2.6.2: unknown flags, or unmap on a discard, are unsupported.
    if ((s.flags & ~kSegmentUnmap) || (!zeroes && (s.flags & kSegmentUnmap))) return kStatusUnsupp;
    if (s.num_sectors > kMaxDiscardSectors) return kStatusIoErr;
    if (!byte_offset(disk, s.sector, s.num_sectors)) return kStatusIoErr;
  }
  for (const Segment& s : segments) {
    const uint64_t off = s.sector * kSectorSize, len = uint64_t{s.num_sectors} * kSectorSize;
    auto r = zeroes ? disk.write_zeroes(off, len, s.flags & kSegmentUnmap) : disk.discard(off, len);
    if (!r) return kStatusIoErr;
  }
  return kStatusOk;
}

Completion answer(const DescriptorChain& c, uint64_t written, uint8_t status) {
  // The status byte is the chain's last writable byte.
  ChainWriter writer(c.writable);
  writer.take(c.writable_bytes - 1);
  writer.write(std::span(&status, 1));
  const uint64_t used = written + 1;
  return {used > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(used), status};
}

}  // namespace

Prepared prepare_request(BlockBackend& disk, uint64_t features, const DescriptorChain& c) {
  Prepared p;
  if (c.readable_bytes < sizeof(Header) || c.writable_bytes < 1) return p;
  uint8_t raw[sizeof(Header)];
  ChainReader reader(c.readable);
  if (!reader.read(raw)) return p;
  Header h;
  std::memcpy(&h, raw, sizeof h);

  // Everything writable but the last byte is data for reads and get-id.
  const uint64_t data_in = c.writable_bytes - 1;
  uint64_t written = 0;
  uint8_t status = kStatusUnsupp;
  switch (h.type) {
    case kTypeIn:
    case kTypeOut: {
      const bool write = h.type == kTypeOut;
      auto t = transfer(disk, h, c, write, write ? c.readable_bytes - sizeof(Header) : data_in);
      if (auto* io = std::get_if<BlockIo>(&t)) {
        p.io = std::move(*io);
        p.data_in = write ? 0 : static_cast<uint32_t>(std::min<uint64_t>(data_in, UINT32_MAX));
        return p;
      }
      status = std::get<uint8_t>(t);
      break;
    }
    case kTypeFlush:
      p.io = BlockIo{BlockIo::Op::kFlush, 0, {}, false};
      return p;
    case kTypeGetId: {
      // §5.2.6.1: up to 20 bytes, NUL-padded when shorter.
      char id[kIdBytes] = {};
      const std::string s = disk.id();
      std::memcpy(id, s.data(), std::min<size_t>(s.size(), kIdBytes));
      ChainWriter writer(c.writable);
      written = writer.write(
          std::span(reinterpret_cast<const uint8_t*>(id), std::min<uint64_t>(kIdBytes, data_in)));
      status = kStatusOk;
      break;
    }
    case kTypeDiscard:
      status = do_segments(disk, features, c, false);
      break;
    case kTypeWriteZeroes:
      status = do_segments(disk, features, c, true);
      break;
    default:
      status = kStatusUnsupp;
      break;
  }
  p.done = answer(c, written, status);
  return p;
}

Completion finish_request(const DescriptorChain& c, const Prepared& p) {
  if (!p.io) return p.done;
  return p.io->ok ? answer(c, p.data_in, kStatusOk) : answer(c, 0, kStatusIoErr);
}

Completion handle_request(BlockBackend& disk, uint64_t features, const DescriptorChain& c) {
  Prepared p = prepare_request(disk, features, c);
  if (!p.io) return p.done;
  disk.run_batch(std::span(&*p.io, 1));
  return finish_request(c, p);
}

}  // namespace vessel::devices::virtio::blk
