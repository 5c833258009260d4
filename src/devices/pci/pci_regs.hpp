// Register offsets and bits of the type-0 PCI configuration header (PCI Local Bus Spec 3.0
// §6.1-6.2) and of the capabilities vessel implements. Facts only.
#pragma once

#include <cstdint>

namespace vessel::devices::pci {

inline constexpr uint16_t kConfigSpaceSize = 256;           // conventional space (mechanism #1)
inline constexpr uint16_t kExtendedConfigSpaceSize = 4096;  // PCIe, through ECAM

inline constexpr uint16_t kVendorId = 0x00;
inline constexpr uint16_t kDeviceId = 0x02;
inline constexpr uint16_t kCommand = 0x04;
inline constexpr uint16_t kStatus = 0x06;
inline constexpr uint16_t kRevision = 0x08;
inline constexpr uint16_t kClassCode = 0x09;  // 3 bytes: prog-if, subclass, base class
inline constexpr uint16_t kHeaderType = 0x0e;
inline constexpr uint16_t kBar0 = 0x10;
inline constexpr unsigned kBarCount = 6;
inline constexpr uint16_t kSubsystemVendorId = 0x2c;
inline constexpr uint16_t kSubsystemId = 0x2e;
inline constexpr uint16_t kCapabilityPointer = 0x34;
inline constexpr uint16_t kInterruptLine = 0x3c;
inline constexpr uint16_t kInterruptPin = 0x3d;
inline constexpr uint16_t kFirstCapability = 0x40;

// Command register (§6.2.2).
inline constexpr uint16_t kCommandMemorySpace = 1u << 1;
inline constexpr uint16_t kCommandBusMaster = 1u << 2;
inline constexpr uint16_t kCommandIntxDisable = 1u << 10;
// Status register (§6.2.3).
inline constexpr uint16_t kStatusInterrupt = 1u << 3;
inline constexpr uint16_t kStatusCapabilities = 1u << 4;

// Memory BAR low bits (§6.2.5.1).
inline constexpr uint32_t kBarMem64 = 0x4;
inline constexpr uint32_t kBarPrefetchable = 0x8;

// Capability IDs (PCI Code and ID Assignment Spec §2).
inline constexpr uint8_t kCapVendor = 0x09;
inline constexpr uint8_t kCapMsix = 0x11;

// MSI-X (PCI Local Bus Spec 3.0 §6.8.2): message control bits, table entry layout.
inline constexpr uint16_t kMsixEnable = 1u << 15;
inline constexpr uint16_t kMsixFunctionMask = 1u << 14;
inline constexpr unsigned kMsixEntrySize = 16;
inline constexpr uint32_t kMsixVectorMasked = 1u;
inline constexpr uint16_t kMsixMaxVectors = 2048;

}  // namespace vessel::devices::pci
