// copy_sparse: the copy is exact whatever the destination held, and pages that are to be zero
// in fresh anonymous memory stay unwritten (not the VMM's own memory).
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "../host_pages.hpp"
#include "boot/sparse_copy.hpp"

namespace vessel::boot {
namespace {

constexpr size_t kPage = 4096;

// Source pages: random, zero, random with one zero byte run, zero... ; `pages` long.
std::vector<uint8_t> mixed_source(size_t pages) {
  std::vector<uint8_t> src(pages * kPage);
  std::mt19937 rng(7);
  for (size_t p = 0; p < pages; ++p)
    if (p % 3 != 1)
      for (size_t i = 0; i < kPage; ++i) src[p * kPage + i] = static_cast<uint8_t>(rng() | 1);
  return src;
}

TEST(SparseCopy, CopiesExactlyOverAnyDestination) {
  const std::vector<uint8_t> src = mixed_source(12);
  for (size_t shift : {0u, 1u, 100u}) {
    for (size_t tail : {0u, 5000u}) {  // with and without a .bss part
      std::vector<uint8_t> dst(src.size() + tail + shift, 0xa5);
      const std::span<uint8_t> to(dst.data() + shift, src.size() - 3 + tail);
      copy_sparse(to, std::span(src.data(), src.size() - 3));
      for (size_t i = 0; i < to.size(); ++i)
        ASSERT_EQ(to[i], i < src.size() - 3 ? src[i] : 0) << "offset " << i;
      EXPECT_EQ(dst.front(), shift ? 0xa5 : to[0]);  // nothing before the destination
      EXPECT_EQ(dst.back(), 0xa5);                   // nothing after it
    }
  }
}

TEST(SparseCopy, LeavesZeroPagesOfFreshMemoryUnwritten) {
  const size_t src_pages = 12, bss_pages = 20, pages = src_pages + bss_pages;
  const std::vector<uint8_t> src = mixed_source(src_pages);
  void* m =
      ::mmap(nullptr, pages * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(m, MAP_FAILED);
  auto* dst = static_cast<uint8_t*>(m);
  copy_sparse(std::span(dst, pages * kPage), src);
  for (size_t i = 0; i < pages * kPage; ++i)
    ASSERT_EQ(dst[i], i < src.size() ? src[i] : 0) << "offset " << i;
  const std::optional<size_t> written = test::exclusive_pages(dst, pages);
  ::munmap(m, pages * kPage);
  if (!written) GTEST_SKIP() << "/proc/self/pagemap is not readable here";
  EXPECT_EQ(*written, src_pages - src_pages / 3);  // the non-zero source pages only
}

}  // namespace
}  // namespace vessel::boot
