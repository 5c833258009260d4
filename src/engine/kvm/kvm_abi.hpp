// The few KVM structures whose C++ view of <linux/kvm.h> is wrong. The kernel headers declare
// their trailing arrays with __DECLARE_FLEX_ARRAY, which in C++ wraps them in a struct holding
// an empty struct: sizeof and the array's offset then differ from C (e.g. kvm_cpuid2 is 12
// bytes with entries at offset 12, not 8). Both the layout and the ioctl numbers (which encode
// sizeof) would be wrong, so these mirror the C layout and define the ioctl numbers from it.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <vector>

namespace vessel::engine::kvm::abi {

struct CpuidHeader {  // struct kvm_cpuid2 without its entries
  uint32_t nent;
  uint32_t padding;
};
struct MsrsHeader {  // struct kvm_msrs without its entries
  uint32_t nmsrs;
  uint32_t pad;
};
struct MsrListHeader {  // struct kvm_msr_list without its indices
  uint32_t nmsrs;
};

inline constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
inline constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
inline constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);
inline constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
inline constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);

// A header followed by `n` entries, in one 8-byte aligned buffer.
template <class Header, class Entry>
class HeaderWithEntries {
 public:
  explicit HeaderWithEntries(size_t n)
      : storage_((sizeof(Header) + n * sizeof(Entry) + 7) / 8 + 1) {}
  Header* header() { return reinterpret_cast<Header*>(storage_.data()); }
  Entry* entries() {
    return reinterpret_cast<Entry*>(reinterpret_cast<uint8_t*>(storage_.data()) + sizeof(Header));
  }
  void* data() { return storage_.data(); }

 private:
  std::vector<uint64_t> storage_;
};

using Cpuid = HeaderWithEntries<CpuidHeader, kvm_cpuid_entry2>;
using Msrs = HeaderWithEntries<MsrsHeader, kvm_msr_entry>;
using MsrList = HeaderWithEntries<MsrListHeader, uint32_t>;

}  // namespace vessel::engine::kvm::abi
