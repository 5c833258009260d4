// Constants of the virtio 1.2 specification (OASIS, virtio-v1.2-cs01) that the core and the
// transports share. Facts only.
#pragma once

#include <cstdint>

namespace vessel::devices::virtio {

// Device status bits (§2.1).
inline constexpr uint8_t kStatusAcknowledge = 1;
inline constexpr uint8_t kStatusDriver = 2;
inline constexpr uint8_t kStatusDriverOk = 4;
inline constexpr uint8_t kStatusFeaturesOk = 8;
inline constexpr uint8_t kStatusNeedsReset = 64;
inline constexpr uint8_t kStatusFailed = 128;

// Reserved feature bits (§6).
inline constexpr unsigned kFeatureIndirectDesc = 28;
inline constexpr unsigned kFeatureEventIdx = 29;
inline constexpr unsigned kFeatureVersion1 = 32;
inline constexpr unsigned kFeatureAccessPlatform = 33;
constexpr uint64_t feature_bit(unsigned bit) {
  return uint64_t{1} << bit;
}

// Device IDs (§5).
inline constexpr uint16_t kDeviceIdNet = 1;
inline constexpr uint16_t kDeviceIdBlock = 2;
inline constexpr uint16_t kDeviceIdConsole = 3;
inline constexpr uint16_t kDeviceIdEntropy = 4;

// Split virtqueue (§2.7).
inline constexpr uint16_t kDescFlagNext = 1;
inline constexpr uint16_t kDescFlagWrite = 2;
inline constexpr uint16_t kDescFlagIndirect = 4;
inline constexpr uint16_t kAvailFlagNoInterrupt = 1;
inline constexpr uint16_t kUsedFlagNoNotify = 1;
inline constexpr uint64_t kDescSize = 16;
inline constexpr uint16_t kMaxQueueSize = 32768;  // §2.7: queue size at most 32768

// Interrupt status bits, shared by the PCI ISR capability (§4.1.4.5) and virtio-mmio (§4.2.2).
inline constexpr uint8_t kInterruptQueue = 1;
inline constexpr uint8_t kInterruptConfig = 2;

// "No vector" for MSI-X vector registers (§4.1.5.1.2).
inline constexpr uint16_t kNoVector = 0xffff;

}  // namespace vessel::devices::virtio
