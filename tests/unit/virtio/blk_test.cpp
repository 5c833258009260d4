#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <vector>

#include "devices/virtio/blk/blk_request.hpp"
#include "devices/virtio/blk/file_backend.hpp"
#include "devices/virtio/blk/uring_backend.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/virtio_spec.hpp"
#include "ring_builder.hpp"

namespace vessel::devices::virtio::blk {
namespace {

constexpr uint64_t kDiskBytes = 64 * 1024;
constexpr uint64_t kAllFeatures =
    feature_bit(kFeatureDiscard) | feature_bit(kFeatureWriteZeroes) | feature_bit(kFeatureFlush);

// A request as the driver lays it out: header, data, status, each its own buffer.
struct Request {
  Request(uint32_t type, uint64_t sector, size_t in_bytes = 0, std::vector<uint8_t> out = {})
      : header(16), data_out(std::move(out)), data_in(in_bytes), status(1, 0xee) {
    std::memcpy(header.data(), &type, 4);
    std::memcpy(header.data() + 8, &sector, 8);
    chain.readable.push_back(header);
    if (!data_out.empty()) chain.readable.push_back(data_out);
    if (!data_in.empty()) chain.writable.push_back(data_in);
    chain.writable.push_back(status);
    chain.readable_bytes = 16 + data_out.size();
    chain.writable_bytes = data_in.size() + 1;
  }
  std::vector<uint8_t> header, data_out, data_in, status;
  DescriptorChain chain;
};

std::vector<uint8_t> segment(uint64_t sector, uint32_t count, uint32_t flags) {
  std::vector<uint8_t> s(16);
  std::memcpy(s.data(), &sector, 8);
  std::memcpy(s.data() + 8, &count, 4);
  std::memcpy(s.data() + 12, &flags, 4);
  return s;
}

// Every test runs on both file engines: synchronous calls and io_uring batches.
class BlkTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    char name[] = "/tmp/vessel-blk-test-XXXXXX";
    const int fd = mkstemp(name);
    ASSERT_GE(fd, 0);
    path_ = name;
    std::vector<uint8_t> init(kDiskBytes);
    for (size_t i = 0; i < init.size(); ++i) init[i] = static_cast<uint8_t>(i * 7 + 1);
    ASSERT_EQ(write(fd, init.data(), init.size()), static_cast<ssize_t>(init.size()));
    close(fd);
    if (std::string_view(GetParam()) == "uring" && !open(false))
      GTEST_SKIP() << "io_uring is not available on this host";
  }
  void TearDown() override { unlink(path_.c_str()); }
  std::unique_ptr<BlockBackend> open(bool ro) {
    auto file = *FileBackend::open(path_, ro);
    if (std::string_view(GetParam()) == "sync") return file;
    auto ring = UringBackend::open(std::move(file));
    if (!ring) return nullptr;
    return std::move(*ring);
  }
  std::vector<uint8_t> file_bytes(uint64_t off, size_t n) {
    std::vector<uint8_t> out(n);
    const int fd = ::open(path_.c_str(), O_RDONLY);
    EXPECT_EQ(pread(fd, out.data(), n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
    close(fd);
    return out;
  }
  std::string path_;
};

TEST_P(BlkTest, ReadReturnsFileContents) {
  auto disk = open(false);
  Request r(kTypeIn, 2, 1024);
  const Completion c = handle_request(*disk, kAllFeatures, r.chain);
  EXPECT_EQ(c.status, kStatusOk);
  EXPECT_EQ(r.status[0], kStatusOk);
  EXPECT_EQ(c.written, 1025u);
  EXPECT_EQ(r.data_in, file_bytes(1024, 1024));
}

TEST_P(BlkTest, WriteAndFlushReachTheFile) {
  auto disk = open(false);
  Request w(kTypeOut, 3, 0, std::vector<uint8_t>(512, 0xab));
  EXPECT_EQ(handle_request(*disk, kAllFeatures, w.chain).status, kStatusOk);
  Request f(kTypeFlush, 0);
  EXPECT_EQ(handle_request(*disk, kAllFeatures, f.chain).status, kStatusOk);
  EXPECT_EQ(file_bytes(3 * 512, 512), std::vector<uint8_t>(512, 0xab));
}

TEST_P(BlkTest, PastTheEndIsAnError) {
  auto disk = open(false);
  const uint64_t sectors = kDiskBytes / 512;
  Request r(kTypeIn, sectors - 1, 1024);  // second sector past the end
  EXPECT_EQ(handle_request(*disk, kAllFeatures, r.chain).status, kStatusIoErr);
  Request w(kTypeOut, ~uint64_t{0}, 0, std::vector<uint8_t>(512, 1));  // overflowing sector
  EXPECT_EQ(handle_request(*disk, kAllFeatures, w.chain).status, kStatusIoErr);
  Request odd(kTypeIn, 0, 100);  // not a whole sector
  EXPECT_EQ(handle_request(*disk, kAllFeatures, odd.chain).status, kStatusIoErr);
  Request ok(kTypeIn, sectors - 1, 512);
  EXPECT_EQ(handle_request(*disk, kAllFeatures, ok.chain).status, kStatusOk);
}

TEST_P(BlkTest, ReadOnlyDiskRefusesWritesAndStaysUnchanged) {
  const auto before = file_bytes(0, kDiskBytes);
  auto disk = open(true);
  VirtioBlk dev(open(true));
  EXPECT_TRUE(dev.device_features() & feature_bit(kFeatureRo));
  Request w(kTypeOut, 0, 0, std::vector<uint8_t>(512, 0));
  EXPECT_EQ(handle_request(*disk, kAllFeatures, w.chain).status, kStatusIoErr);
  Request d(kTypeDiscard, 0, 0, segment(0, 8, 0));
  EXPECT_EQ(handle_request(*disk, kAllFeatures, d.chain).status, kStatusIoErr);
  Request z(kTypeWriteZeroes, 0, 0, segment(0, 8, 0));
  EXPECT_EQ(handle_request(*disk, kAllFeatures, z.chain).status, kStatusIoErr);
  Request f(kTypeFlush, 0);
  EXPECT_EQ(handle_request(*disk, kAllFeatures, f.chain).status, kStatusOk);
  Request r(kTypeIn, 0, 512);
  EXPECT_EQ(handle_request(*disk, kAllFeatures, r.chain).status, kStatusOk);
  EXPECT_EQ(file_bytes(0, kDiskBytes), before);
}

TEST_P(BlkTest, DiscardAndWriteZeroes) {
  auto disk = open(false);
  Request z(kTypeWriteZeroes, 0, 0, segment(4, 2, 0));
  EXPECT_EQ(handle_request(*disk, kAllFeatures, z.chain).status, kStatusOk);
  EXPECT_EQ(file_bytes(4 * 512, 1024), std::vector<uint8_t>(1024, 0));
  Request zu(kTypeWriteZeroes, 0, 0, segment(8, 8, 1));  // unmap allowed
  EXPECT_EQ(handle_request(*disk, kAllFeatures, zu.chain).status, kStatusOk);
  EXPECT_EQ(file_bytes(8 * 512, 4096), std::vector<uint8_t>(4096, 0));
  EXPECT_NE(file_bytes(16 * 512, 1)[0], 0);  // neighbour untouched
  Request d(kTypeDiscard, 0, 0, segment(20, 8, 0));
  EXPECT_EQ(handle_request(*disk, kAllFeatures, d.chain).status, kStatusOk);
  Request du(kTypeDiscard, 0, 0, segment(20, 8, 1));  // unmap flag on discard
  EXPECT_EQ(handle_request(*disk, kAllFeatures, du.chain).status, kStatusUnsupp);
  Request past(kTypeDiscard, 0, 0, segment(kDiskBytes / 512, 1, 0));
  EXPECT_EQ(handle_request(*disk, kAllFeatures, past.chain).status, kStatusIoErr);
  Request not_negotiated(kTypeDiscard, 0, 0, segment(0, 1, 0));
  EXPECT_EQ(handle_request(*disk, 0, not_negotiated.chain).status, kStatusUnsupp);
}

TEST_P(BlkTest, GetIdAndUnknownType) {
  auto disk = open(false);
  Request id(kTypeGetId, 0, 20);
  const Completion c = handle_request(*disk, kAllFeatures, id.chain);
  EXPECT_EQ(c.status, kStatusOk);
  EXPECT_EQ(c.written, 21u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(id.data_in.data()), 7), "vessel-");
  Request bad(99, 0);
  EXPECT_EQ(handle_request(*disk, kAllFeatures, bad.chain).status, kStatusUnsupp);
}

TEST_P(BlkTest, MalformedChainReportsNothing) {
  auto disk = open(false);
  Request r(kTypeIn, 0);
  r.chain.writable.clear();
  r.chain.writable_bytes = 0;
  EXPECT_FALSE(handle_request(*disk, kAllFeatures, r.chain).status);
  Request shortheader(kTypeIn, 0, 512);
  shortheader.chain.readable[0] = shortheader.chain.readable[0].first(8);
  shortheader.chain.readable_bytes = 8;
  EXPECT_FALSE(handle_request(*disk, kAllFeatures, shortheader.chain).status);
}

TEST_P(BlkTest, ConfigSpaceCapacity) {
  VirtioBlk dev(open(false));
  uint8_t b[8];
  dev.read_config(0, b);
  uint64_t cap;
  std::memcpy(&cap, b, 8);
  EXPECT_EQ(cap, kDiskBytes / 512);
}

BlockIo make_io(BlockIo::Op op, uint64_t offset, std::vector<std::span<uint8_t>> buffers) {
  BlockIo io;
  io.op = op;
  io.offset = offset;
  io.buffers = std::move(buffers);
  return io;
}

// A batch as one notification makes it: many writes in scattered buffers, a flush, then reads
// of what was written (the flush orders them), each entry reporting success.
TEST_P(BlkTest, BatchWritesFlushThenReadsBack) {
  auto disk = open(false);
  constexpr size_t kWrites = 40;
  std::vector<std::vector<uint8_t>> out(kWrites * 2), in(kWrites);
  std::vector<BlockIo> batch;
  for (size_t i = 0; i < kWrites; ++i) {
    // Two buffers of 512 bytes per write: sectors 2i and 2i+1 land at 1024*i.
    out[2 * i].assign(512, static_cast<uint8_t>(i));
    out[2 * i + 1].assign(512, static_cast<uint8_t>(0x80 | i));
    batch.push_back(make_io(BlockIo::Op::kWrite, 1024 * i, {out[2 * i], out[2 * i + 1]}));
  }
  batch.push_back(make_io(BlockIo::Op::kFlush, 0, {}));
  for (size_t i = 0; i < kWrites; ++i) {
    in[i].assign(1024, 0xee);
    batch.push_back(make_io(BlockIo::Op::kRead, 1024 * i, {in[i]}));
  }
  disk->run_batch(batch);
  for (const BlockIo& io : batch) EXPECT_TRUE(io.ok);
  for (size_t i = 0; i < kWrites; ++i) {
    std::vector<uint8_t> want(512, static_cast<uint8_t>(i));
    want.resize(1024, static_cast<uint8_t>(0x80 | i));
    EXPECT_EQ(in[i], want) << "read " << i;
    EXPECT_EQ(file_bytes(1024 * i, 1024), want) << "file at write " << i;
  }
}

// More entries than the ring holds are run in several rounds; a read past the file's end fails
// (the device checks ranges first, but the backend must still answer).
TEST_P(BlkTest, BatchLargerThanTheRingAndFailures) {
  auto disk = open(false);
  const size_t n = UringBackend::kRingEntries + 37;
  std::vector<std::vector<uint8_t>> in(n, std::vector<uint8_t>(512, 0xee));
  std::vector<BlockIo> batch;
  for (size_t i = 0; i < n; ++i)
    batch.push_back(make_io(BlockIo::Op::kRead, (i % (kDiskBytes / 512)) * 512, {in[i]}));
  std::vector<uint8_t> past(512);
  batch.push_back(make_io(BlockIo::Op::kRead, kDiskBytes, {past}));
  disk->run_batch(batch);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(batch[i].ok) << i;
    EXPECT_EQ(in[i], file_bytes((i % (kDiskBytes / 512)) * 512, 512)) << i;
  }
  EXPECT_FALSE(batch.back().ok);
}

// The device end to end over a queue in guest RAM: one notification carrying a write, a
// flush, a read of what was written, a read past the end, a chain without a status byte and a
// get-id. Each comes back in the used ring with its length and status.
TEST_P(BlkTest, OneNotificationMixedRequests) {
  memory::GuestMemory mem = *memory::GuestMemory::create(1 << 20);
  test::RingBuilder ring{mem, 32};
  Virtqueue vq("blk", 32);
  const uint64_t features = feature_bit(kFeatureVersion1) | kAllFeatures;
  ASSERT_TRUE(vq.enable(mem, ring.config(), features));
  VirtioBlk dev(open(false));
  dev.activate(features);

  constexpr uint64_t kHdr = 0x10000, kData = 0x20000, kStatus = 0x30000;
  auto header = [&](unsigned n, uint32_t type, uint64_t sector) {
    uint8_t h[16] = {};
    std::memcpy(h, &type, 4);
    std::memcpy(h + 8, &sector, 8);
    ASSERT_TRUE(mem.write(kHdr + 16 * n, h));
    ASSERT_TRUE(mem.write_obj<uint8_t>(kStatus + n, 0xee));
  };
  // n: request number; descriptors 3n, 3n+1, 3n+2.
  auto request = [&](unsigned n, uint32_t type, uint64_t sector, uint32_t data_len, bool in) {
    header(n, type, sector);
    const auto d = static_cast<uint16_t>(3 * n);
    ring.desc(d, kHdr + 16 * n, 16, kDescFlagNext, d + 1);
    if (data_len) {
      ring.desc(d + 1, kData + 0x1000 * n, data_len, kDescFlagNext | (in ? kDescFlagWrite : 0),
                d + 2);
    } else {
      ring.desc(d, kHdr + 16 * n, 16, kDescFlagNext, d + 2);
    }
    ring.desc(d + 2, kStatus + n, 1, kDescFlagWrite);
    ring.publish(d);
  };
  ASSERT_TRUE(mem.write(kData, std::vector<uint8_t>(1024, 0x5a)));
  request(0, kTypeOut, 10, 1024, false);
  request(1, kTypeFlush, 0, 0, false);
  request(2, kTypeIn, 10, 1024, true);
  request(3, kTypeIn, kDiskBytes / 512, 512, true);  // past the end
  header(4, kTypeIn, 0);                             // header only: no status byte
  ring.desc(12, kHdr + 64, 16, 0);
  ring.publish(12);
  request(5, kTypeGetId, 0, 20, true);
  dev.process_queue(0, vq);

  ASSERT_EQ(ring.used_idx(), 6);
  std::map<uint32_t, uint32_t> len;  // head -> used length
  for (uint16_t i = 0; i < 6; ++i) len[ring.used_id(i)] = ring.used_len(i);
  auto status = [&](unsigned n) { return *mem.read_obj<uint8_t>(kStatus + n); };
  EXPECT_EQ(status(0), kStatusOk);
  EXPECT_EQ(len[0], 1u);
  EXPECT_EQ(status(1), kStatusOk);
  EXPECT_EQ(status(2), kStatusOk);
  EXPECT_EQ(len[6], 1025u);
  std::vector<uint8_t> back(1024);
  ASSERT_TRUE(mem.read(kData + 0x2000, back));
  EXPECT_EQ(back, std::vector<uint8_t>(1024, 0x5a));
  EXPECT_EQ(file_bytes(10 * 512, 1024), std::vector<uint8_t>(1024, 0x5a));
  EXPECT_EQ(status(3), kStatusIoErr);
  EXPECT_EQ(len[9], 1u);
  EXPECT_EQ(len[12], 0u);
  EXPECT_EQ(status(4), 0xee);
  EXPECT_EQ(dev.malformed_requests(), 1u);
  EXPECT_EQ(status(5), kStatusOk);
  EXPECT_EQ(len[15], 21u);
  // The metrics: one write and one read of 1 KiB, a flush, and two invalid requests (past
  // the end, no status byte); get-id is neither.
  const BlkCounters c = dev.counters();
  EXPECT_EQ(c.write_count, 1u);
  EXPECT_EQ(c.write_bytes, 1024u);
  EXPECT_EQ(c.read_count, 1u);
  EXPECT_EQ(c.read_bytes, 1024u);
  EXPECT_EQ(c.flush_count, 1u);
  EXPECT_EQ(c.invalid_reqs_count, 2u);
  EXPECT_EQ(c.execute_fails, 0u);
}

INSTANTIATE_TEST_SUITE_P(Engines, BlkTest, ::testing::Values("sync", "uring"),
                         [](const auto& info) { return std::string(info.param); });

TEST(BlkCountersTest, SumAddsEveryField) {
  BlkCounters sum{1, 2, 3, 4, 5, 6, 7};
  sum += BlkCounters{10, 20, 30, 40, 50, 60, 70};
  EXPECT_EQ(sum.read_bytes, 11u);
  EXPECT_EQ(sum.write_bytes, 22u);
  EXPECT_EQ(sum.read_count, 33u);
  EXPECT_EQ(sum.write_count, 44u);
  EXPECT_EQ(sum.flush_count, 55u);
  EXPECT_EQ(sum.invalid_reqs_count, 66u);
  EXPECT_EQ(sum.execute_fails, 77u);
}

}  // namespace
}  // namespace vessel::devices::virtio::blk
