#include "base/mapping.hpp"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

namespace vessel {

Result<Mapping> Mapping::anonymous(size_t size) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return fail("cannot map {} bytes of memory: {}", size, std::strerror(errno));
  return Mapping(p, size);
}

Result<Mapping> Mapping::of_file(int fd, size_t size, int prot, off_t offset) {
  void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, offset);
  if (p == MAP_FAILED) return fail("cannot map file: {}", std::strerror(errno));
  return Mapping(p, size);
}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    reset();
    addr_ = std::exchange(o.addr_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

void Mapping::reset() {
  if (addr_) ::munmap(addr_, size_);
  addr_ = nullptr;
  size_ = 0;
}

}  // namespace vessel
