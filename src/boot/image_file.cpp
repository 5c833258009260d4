#include "boot/image_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "base/unique_fd.hpp"

namespace vessel::boot {

Result<ImageFile> ImageFile::open(const std::string& path, uint64_t max_size) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail("cannot open: {}", std::strerror(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail("cannot stat: {}", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size == 0) return fail("the file is empty");
  if (size > max_size)
    return fail("the file ({} bytes) is larger than guest RAM ({} bytes)", size, max_size);
  auto map = Mapping::of_file(fd.get(), size, PROT_READ);
  if (!map) return std::unexpected(map.error());
  return ImageFile(std::move(*map));
}

}  // namespace vessel::boot
