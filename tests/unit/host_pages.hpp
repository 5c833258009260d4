// How many pages of this process's memory the kernel backs with memory of our own: written
// pages are mapped exclusively to us; untouched or only read ones (the shared zero page) are
// not (/proc/self/pagemap bit 56). For tests of code that must leave guest RAM unwritten.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace vessel::test {

inline std::optional<size_t> exclusive_pages(const uint8_t* p, size_t pages) {
  constexpr uintptr_t kPage = 4096;
  const int fd = ::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::vector<uint64_t> entries(pages);
  const auto off = static_cast<off_t>(reinterpret_cast<uintptr_t>(p) / kPage * 8);
  const ssize_t n = ::pread(fd, entries.data(), pages * 8, off);
  ::close(fd);
  if (n != static_cast<ssize_t>(pages * 8)) return std::nullopt;
  size_t count = 0;
  for (uint64_t e : entries) count += (e >> 56) & 1;
  return count;
}

}  // namespace vessel::test
