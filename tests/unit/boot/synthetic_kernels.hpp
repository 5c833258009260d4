// Synthetic Linux kernels for tests: a bzImage header with chosen fields and a one-segment
// ELF64 vmlinux, small enough to build in memory.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "boot/boot_params.hpp"
#include "boot/byte_writer.hpp"

namespace vessel::boot::synthetic {

constexpr uint64_t kPref = 0x1000000;
constexpr size_t kSetupSects = 4;
constexpr size_t kKernelBytes = 0x3000;

// A bzImage whose protected-mode part is kKernelBytes of a counting pattern.
inline std::vector<uint8_t> make_bzimage(uint16_t version = 0x020f, uint16_t xloadflags = 0x3) {
  ByteWriter w((kSetupSects + 1) * 512 + kKernelBytes);
  w.u8(bp::kSetupSects, kSetupSects);
  w.u16(bp::kBootFlag, bp::kBootFlagValue);
  w.u8(bp::kJump, 0xeb);
  w.u8(bp::kJump + 1, 0x6a);  // header ends at 0x26c
  w.u32(bp::kHeaderMagic, bp::kHdrSMagic);
  w.u16(bp::kVersion, version);
  w.u8(bp::kLoadFlags, bp::kLoadedHigh);
  w.u32(bp::kCode32Start, 0x100000);
  w.u32(bp::kInitrdAddrMax, 0x7fffffff);
  w.u32(bp::kKernelAlignment, 0x200000);
  w.u8(bp::kRelocatableKernel, 1);
  w.u16(bp::kXLoadFlags, xloadflags);
  w.u32(bp::kCmdlineSize, 2047);
  w.u32(bp::kPayloadOffset, 0x100);
  w.u32(bp::kPayloadLength, 0x1000);
  w.u64(bp::kPrefAddress, kPref);
  w.u32(bp::kInitSize, 0x400000);
  for (size_t i = 0; i < kKernelBytes; ++i) w.u8((kSetupSects + 1) * 512 + i, uint8_t(i * 7));
  return std::move(w.data());
}

// An ELF64 vmlinux with one PT_LOAD: vaddr 0xffffffff81000000 -> paddr kPref.
inline std::vector<uint8_t> make_vmlinux(uint64_t entry, uint64_t filesz = 0x1000) {
  ByteWriter w(0x1000 + 0x1000);
  w.bytes(0, std::vector<uint8_t>{0x7f, 'E', 'L', 'F', 2, 1, 1});
  w.u16(0x10, 2);   // ET_EXEC
  w.u16(0x12, 62);  // EM_X86_64
  w.u64(0x18, entry);
  w.u64(0x20, 0x40);  // e_phoff
  w.u16(0x36, 56);
  w.u16(0x38, 1);
  w.u32(0x40, 1);  // PT_LOAD
  w.u64(0x48, 0x1000);
  w.u64(0x50, 0xffffffff81000000ull);
  w.u64(0x58, kPref);
  w.u64(0x60, filesz);
  w.u64(0x68, 0x3000);  // memsz: 0x2000 bytes of .bss
  for (size_t i = 0; i < 0x1000; ++i) w.u8(0x1000 + i, uint8_t(i ^ 0x5a));
  return std::move(w.data());
}

}  // namespace vessel::boot::synthetic
