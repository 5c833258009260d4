#include "boot/image_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.hpp"

namespace vessel::boot {

Result<std::vector<uint8_t>> read_image_file(const std::string& path, uint64_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail("cannot open: {}", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail("cannot stat: {}", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size == 0) return fail("the file is empty");
  if (size > max_size)
    return fail("the file ({} bytes) is larger than guest RAM ({} bytes)", size, max_size);

  std::vector<uint8_t> bytes(size);
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd.get(), bytes.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("read failed: {}", std::strerror(errno));
    if (n == 0) return fail("the file shrank while being read ({} of {} bytes)", done, size);
    done += static_cast<uint64_t>(n);
  }
  return bytes;
}

}  // namespace vessel::boot
