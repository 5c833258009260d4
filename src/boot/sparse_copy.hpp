// Copying a boot image into fresh guest RAM without touching pages that stay zero: guest RAM
// starts as untouched anonymous memory, and a vmlinux carries megabytes of zero pages (its
// .bss and page-aligned padding: 28 MB of the default guest's 59 MB of segments). Writing them
// would make the host back every one of them; skipping those already zero keeps them out of
// the VMM's resident set until the guest itself uses them.
#pragma once

#include <cstdint>
#include <span>

namespace vessel::boot {

// dst = src followed by zeros (dst.size() >= src.size()); leaves every 4 KiB stretch of dst
// (aligned to dst's own addresses) that is to be zero and already is unwritten.
void copy_sparse(std::span<uint8_t> dst, std::span<const uint8_t> src);

}  // namespace vessel::boot
