// all_zero: every length (whole words, tails, more than one 64-byte stretch) and a non-zero
// byte at every position.
#include <gtest/gtest.h>

#include <vector>

#include "base/all_zero.hpp"

namespace vessel {
namespace {

TEST(AllZero, FindsANonZeroByteAnywhere) {
  for (size_t n = 0; n <= 200; ++n) {
    std::vector<uint8_t> bytes(n + 1, 0);  // one byte more: the range must not reach it
    bytes[n] = 1;
    const std::span<const uint8_t> range(bytes.data(), n);
    EXPECT_TRUE(all_zero(range)) << n;
    for (size_t at = 0; at < n; ++at) {
      bytes[at] = 0x80;
      EXPECT_FALSE(all_zero(range)) << n << " " << at;
      bytes[at] = 0;
    }
  }
}

}  // namespace
}  // namespace vessel
