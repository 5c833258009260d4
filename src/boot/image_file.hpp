// A boot image (kernel, initrd) from the host file system, mapped read-only rather than read:
// a vmlinux is tens of MiB, mostly symbols the loader never touches, so only the pages the
// loaders look at are ever read, and nothing is copied twice. The loaders parse the bytes
// afterwards, so every offset they find in a header is checked against the size mapped here,
// never against what the file claims.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/mapping.hpp"
#include "base/result.hpp"

namespace vessel::boot {

class ImageFile {
 public:
  // The whole file. Fails on an unreadable, empty or non-regular file, or one larger than
  // `max_size` (a boot image cannot be larger than the guest RAM it must fit in).
  // The file must not shrink while it is loaded (as with any mapped file, a read past its new
  // end would be a SIGBUS); it is unmapped as soon as the guest memory holds its copy.
  static Result<ImageFile> open(const std::string& path, uint64_t max_size);

  std::span<const uint8_t> bytes() const { return {map_.data(), map_.size()}; }

 private:
  explicit ImageFile(Mapping map) : map_(std::move(map)) {}
  Mapping map_;
};

}  // namespace vessel::boot
