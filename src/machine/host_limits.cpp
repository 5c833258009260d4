#include "machine/host_limits.hpp"

#include <sys/sysinfo.h>

namespace vessel::machine {

Result<void> check_memory_fits_host(uint64_t mem_mib) {
  struct sysinfo info {};
  if (::sysinfo(&info) != 0) return {};  // cannot tell: let the mapping itself decide
  const uint64_t host_mib = (uint64_t{info.totalram} * info.mem_unit) >> 20;
  if (mem_mib > host_mib)
    return fail("memory size {} MiB is larger than this host's {} MiB", mem_mib, host_mib);
  return {};
}

}  // namespace vessel::machine
