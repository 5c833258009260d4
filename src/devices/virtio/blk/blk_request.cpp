#include "devices/virtio/blk/blk_request.hpp"

#include <cstring>
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

uint8_t do_read(BlockBackend& disk, const Header& h, const DescriptorChain& c, uint64_t len) {
  if (len % kSectorSize) return kStatusIoErr;
  auto offset = byte_offset(disk, h.sector, len / kSectorSize);
  if (!offset) return kStatusIoErr;
  auto bufs = slice(c.writable, 0, len);
  return disk.read(*offset, bufs) ? kStatusOk : kStatusIoErr;
}

uint8_t do_write(BlockBackend& disk, const Header& h, const DescriptorChain& c) {
  const uint64_t len = c.readable_bytes - sizeof(Header);
  if (disk.read_only() || len % kSectorSize) return kStatusIoErr;
  auto offset = byte_offset(disk, h.sector, len / kSectorSize);
  if (!offset) return kStatusIoErr;
  auto bufs = slice(c.readable, sizeof(Header), len);
  return disk.write(*offset, bufs) ? kStatusOk : kStatusIoErr;
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

}  // namespace

Completion handle_request(BlockBackend& disk, uint64_t features, const DescriptorChain& c) {
  if (c.readable_bytes < sizeof(Header) || c.writable_bytes < 1) return {0, std::nullopt};
  uint8_t raw[sizeof(Header)];
  ChainReader reader(c.readable);
  if (!reader.read(raw)) return {0, std::nullopt};
  Header h;
  std::memcpy(&h, raw, sizeof h);

  // Everything writable but the last byte is data for reads and get-id.
  const uint64_t data_in = c.writable_bytes - 1;
  uint64_t written = 0;
  uint8_t status = kStatusUnsupp;
  switch (h.type) {
    case kTypeIn:
      status = do_read(disk, h, c, data_in);
      if (status == kStatusOk) written = data_in;
      break;
    case kTypeOut:
      status = do_write(disk, h, c);
      break;
    case kTypeFlush:
      status = disk.flush() ? kStatusOk : kStatusIoErr;
      break;
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
  // The status byte is the chain's last writable byte.
  ChainWriter writer(c.writable);
  writer.take(data_in);
  writer.write(std::span(&status, 1));
  const uint64_t used = written + 1;
  return {used > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(used), status};
}

}  // namespace vessel::devices::virtio::blk
