// Loading a flat binary: raw code copied to one guest-physical address and started there in
// real mode, the way a BIOS starts a boot sector (at 0:7c00 by default). For test payloads.
#pragma once

#include <cstdint>
#include <span>

#include "base/result.hpp"
#include "boot/loader.hpp"

namespace vessel::boot {

// Real mode reaches only the first MiB: the load address must be below 0x100000.
inline constexpr uint64_t kRealModeLimit = 0x100000;

Result<LoadedImage> load_flat(const memory::GuestMemory& memory, std::span<const uint8_t> image,
                              uint64_t load_address);

}  // namespace vessel::boot
