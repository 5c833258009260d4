#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "devices/virtio/blk/blk_request.hpp"
#include "devices/virtio/blk/file_backend.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/virtio_spec.hpp"

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

class BlkTest : public ::testing::Test {
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
  }
  void TearDown() override { unlink(path_.c_str()); }
  std::unique_ptr<FileBackend> open(bool ro) { return *FileBackend::open(path_, ro); }
  std::vector<uint8_t> file_bytes(uint64_t off, size_t n) {
    std::vector<uint8_t> out(n);
    const int fd = ::open(path_.c_str(), O_RDONLY);
    EXPECT_EQ(pread(fd, out.data(), n, static_cast<off_t>(off)), static_cast<ssize_t>(n));
    close(fd);
    return out;
  }
  std::string path_;
};

TEST_F(BlkTest, ReadReturnsFileContents) {
  auto disk = open(false);
  Request r(kTypeIn, 2, 1024);
  const Completion c = handle_request(*disk, kAllFeatures, r.chain);
  EXPECT_EQ(c.status, kStatusOk);
  EXPECT_EQ(r.status[0], kStatusOk);
  EXPECT_EQ(c.written, 1025u);
  EXPECT_EQ(r.data_in, file_bytes(1024, 1024));
}

TEST_F(BlkTest, WriteAndFlushReachTheFile) {
  auto disk = open(false);
  Request w(kTypeOut, 3, 0, std::vector<uint8_t>(512, 0xab));
  EXPECT_EQ(handle_request(*disk, kAllFeatures, w.chain).status, kStatusOk);
  Request f(kTypeFlush, 0);
  EXPECT_EQ(handle_request(*disk, kAllFeatures, f.chain).status, kStatusOk);
  EXPECT_EQ(file_bytes(3 * 512, 512), std::vector<uint8_t>(512, 0xab));
}

TEST_F(BlkTest, PastTheEndIsAnError) {
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

TEST_F(BlkTest, ReadOnlyDiskRefusesWritesAndStaysUnchanged) {
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

TEST_F(BlkTest, DiscardAndWriteZeroes) {
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

TEST_F(BlkTest, GetIdAndUnknownType) {
  auto disk = open(false);
  Request id(kTypeGetId, 0, 20);
  const Completion c = handle_request(*disk, kAllFeatures, id.chain);
  EXPECT_EQ(c.status, kStatusOk);
  EXPECT_EQ(c.written, 21u);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(id.data_in.data()), 7), "vessel-");
  Request bad(99, 0);
  EXPECT_EQ(handle_request(*disk, kAllFeatures, bad.chain).status, kStatusUnsupp);
}

TEST_F(BlkTest, MalformedChainReportsNothing) {
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

TEST_F(BlkTest, ConfigSpaceCapacity) {
  VirtioBlk dev(open(false));
  uint8_t b[8];
  dev.read_config(0, b);
  uint64_t cap;
  std::memcpy(&cap, b, 8);
  EXPECT_EQ(cap, kDiskBytes / 512);
}

}  // namespace
}  // namespace vessel::devices::virtio::blk
