#include "devices/virtio/rng/virtio_rng.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace vessel::devices::virtio {
namespace {

TEST(VirtioRngTest, FillsWritableBuffers) {
  std::vector<uint8_t> a(100, 0), b(100, 0);
  DescriptorChain chain;
  chain.writable = {a, b};
  chain.writable_bytes = 200;
  EXPECT_EQ(VirtioRng::fill(chain), 200u);
  // 100 random bytes are all zero with probability 2^-800.
  EXPECT_TRUE(std::any_of(a.begin(), a.end(), [](uint8_t x) { return x != 0; }));
  EXPECT_TRUE(std::any_of(b.begin(), b.end(), [](uint8_t x) { return x != 0; }));
}

TEST(VirtioRngTest, HugeRequestIsCapped) {
  // One buffer seen 4096 times: the chain asks for 4096 * 1 MiB = 4 GiB.
  std::vector<uint8_t> buf(1 << 20, 0);
  DescriptorChain chain;
  for (int i = 0; i < 4096; ++i) chain.writable.push_back(buf);
  chain.writable_bytes = uint64_t{4096} << 20;
  EXPECT_EQ(VirtioRng::fill(chain), VirtioRng::kMaxBytesPerRequest);
  // Nothing past the cap was touched.
  EXPECT_TRUE(std::all_of(buf.begin() + VirtioRng::kMaxBytesPerRequest, buf.end(),
                          [](uint8_t x) { return x == 0; }));
}

}  // namespace
}  // namespace vessel::devices::virtio
