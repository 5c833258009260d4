// The virtio-net request format (virtio 1.2 §5.1.6): every buffer starts with a struct
// virtio_net_hdr, 12 bytes with VERSION_1 (num_buffers is always present), then one ethernet
// frame. These functions move frames between descriptor chains and plain bytes and decide what
// the device must drop; they are the part of the device a hostile driver talks to, kept apart
// so that a fuzzer can drive them.
//
// The device offers no offloads (no CSUM, GSO or MRG_RXBUF), so:
//  - TX: the header must announce no GSO; a frame must hold at least an ethernet header and at
//    most kMaxFrameSize bytes; NEEDS_CSUM (not offered) is refused too, since the frame would
//    leave with a partial checksum;
//  - RX: the header is all zero but num_buffers = 1 (§5.1.6.4.1), and a frame that does not fit
//    the chain's writable buffers whole is not written at all.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "devices/virtio/descriptor_chain.hpp"

namespace vessel::devices::virtio {

inline constexpr uint32_t kNetHeaderSize = 12;
inline constexpr uint8_t kNetHdrFlagNeedsCsum = 1;
inline constexpr uint8_t kNetHdrGsoNone = 0;

// Why a TX chain was dropped (kOk: `frame` holds the frame).
enum class TxVerdict { kOk, kShortHeader, kOffload, kTooSmall, kTooBig };
std::string_view to_string(TxVerdict verdict);

// Reads the header and frame a TX chain carries (its readable half) into `frame`, which is
// reused; `max_frame` bounds the frame length.
TxVerdict read_tx_frame(const DescriptorChain& chain, size_t max_frame,
                        std::vector<uint8_t>& frame);

// Writes the header and `frame` into an RX chain's writable half; returns the bytes written
// (header included), or 0 when the frame does not fit and nothing was written.
uint32_t write_rx_frame(const DescriptorChain& chain, std::span<const uint8_t> frame);

}  // namespace vessel::devices::virtio
