// struct boot_params, the "zero page" of the Linux x86 boot protocol, as offsets: the setup
// header fields (Documentation/arch/x86/boot.rst, "The Real-Mode Kernel Header"; the same
// offsets in the bzImage file and in boot_params) and the zero page's own fields
// (Documentation/arch/x86/zero-page.rst). Building it from a loaded kernel is in linux_setup.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vessel::boot::bp {

// Zero page fields.
inline constexpr size_t kAcpiRsdpAddr = 0x070;  // u64
inline constexpr size_t kExtRamdiskImage = 0x0c0, kExtRamdiskSize = 0x0c4, kExtCmdLinePtr = 0x0c8;
inline constexpr size_t kE820Entries = 0x1e8;  // u8
inline constexpr size_t kSentinel = 0x1ef;     // must be 0 (else the kernel clears fields)
inline constexpr size_t kE820Table = 0x2d0;    // 128 x {u64 addr, u64 size, u32 type}
inline constexpr size_t kE820EntrySize = 20;

// Setup header (file offset = boot_params offset).
inline constexpr size_t kSetupHeader = 0x1f1;
inline constexpr size_t kSetupSects = 0x1f1;         // u8; 0 means 4
inline constexpr size_t kBootFlag = 0x1fe;           // u16 0xAA55
inline constexpr size_t kJump = 0x200;               // the header ends at 0x202 + byte at 0x201
inline constexpr size_t kHeaderMagic = 0x202;        // "HdrS"
inline constexpr size_t kVersion = 0x206;            // u16
inline constexpr size_t kTypeOfLoader = 0x210;       // u8
inline constexpr size_t kLoadFlags = 0x211;          // u8
inline constexpr size_t kCode32Start = 0x214;        // u32
inline constexpr size_t kRamdiskImage = 0x218;       // u32
inline constexpr size_t kRamdiskSize = 0x21c;        // u32
inline constexpr size_t kHeapEndPtr = 0x224;         // u16
inline constexpr size_t kCmdLinePtr = 0x228;         // u32
inline constexpr size_t kInitrdAddrMax = 0x22c;      // u32
inline constexpr size_t kKernelAlignment = 0x230;    // u32
inline constexpr size_t kRelocatableKernel = 0x234;  // u8
inline constexpr size_t kXLoadFlags = 0x236;         // u16
inline constexpr size_t kCmdlineSize = 0x238;        // u32
inline constexpr size_t kPayloadOffset = 0x248, kPayloadLength = 0x24c;  // u32
inline constexpr size_t kPrefAddress = 0x258;                            // u64
inline constexpr size_t kInitSize = 0x260;                               // u32
inline constexpr size_t kSetupHeaderMaxEnd = 0x290;  // edd_mbr_sig_buffer follows the header

inline constexpr uint16_t kBootFlagValue = 0xaa55;
inline constexpr uint32_t kHdrSMagic = 0x53726448;  // "HdrS" little-endian
inline constexpr uint8_t kLoaderUndefined = 0xff;   // type_of_loader: no assigned ID

// loadflags and xloadflags bits.
inline constexpr uint8_t kLoadedHigh = 1u << 0, kCanUseHeap = 1u << 7;
inline constexpr uint16_t kXlfKernel64 = 1u << 0;

// Protocol versions whose fields we rely on.
inline constexpr uint16_t kMinVersion = 0x020c;          // 2.12: xloadflags, 64-bit entry
inline constexpr uint16_t kPrefAddressVersion = 0x020a;  // 2.10: pref_address, init_size

inline constexpr uint64_t k64BitEntryOffset = 0x200;   // startup_64 = load address + 0x200
inline constexpr uint32_t kDefaultCmdlineSize = 2047;  // COMMAND_LINE_SIZE - 1 on x86_64

}  // namespace vessel::boot::bp
