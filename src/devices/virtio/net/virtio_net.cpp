#include "devices/virtio/net/virtio_net.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "base/log.hpp"
#include "devices/virtio/net/net_frame.hpp"

namespace vessel::devices::virtio {
namespace {

enum Warn : unsigned { kWarnTx, kWarnRxTooBig, kWarnRxFull };

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

Result<MacAddress> parse_mac(std::string_view text) {
  MacAddress mac{};
  if (text.size() != 17) return fail("MAC address '{}': expected aa:bb:cc:dd:ee:ff", text);
  for (size_t i = 0; i < mac.size(); ++i) {
    const int hi = hex_value(text[3 * i]), lo = hex_value(text[3 * i + 1]);
    if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':'))
      return fail("MAC address '{}': expected aa:bb:cc:dd:ee:ff", text);
    mac[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  if (mac[0] & 1) return fail("MAC address '{}' is a multicast address", text);
  return mac;
}

VirtioNet::VirtioNet(std::unique_ptr<backends::net::NetBackend> backend, MacAddress mac)
    : backend_(std::move(backend)), mac_(mac) {}

VirtioNet::~VirtioNet() {
  if (backend_) backend_->stop();
}

Result<void> VirtioNet::start() {
  return backend_->start([this](std::span<const uint8_t> frame) { receive(frame); });
}

void VirtioNet::warn_once(unsigned kind, std::string_view what) {
  if (warned_.fetch_or(1u << kind) & (1u << kind)) return;
  log::warn("virtio net: {} (logged once)", what);
}

void VirtioNet::read_config(uint32_t offset, std::span<uint8_t> data) {
  // struct virtio_net_config (§5.1.4), little-endian.
  std::array<uint8_t, 10> config{};
  std::copy(mac_.begin(), mac_.end(), config.begin());
  config[6] = kNetStatusLinkUp;
  config[8] = 1;  // max_virtqueue_pairs (meaningful with MQ only)
  if (offset >= config.size()) return;
  const size_t n = std::min(data.size(), config.size() - offset);
  std::memcpy(data.data(), config.data() + offset, n);
}

void VirtioNet::reset() {
  std::lock_guard lock(rx_mutex_);
  pending_.clear();
}

void VirtioNet::set_kick(Kick kick) {
  std::lock_guard lock(kick_mutex_);
  kick_ = std::move(kick);
}

void VirtioNet::process_queue(uint16_t index, Virtqueue& queue) {
  if (index == kRxQueue) fill_rx(queue);
  if (index == kTxQueue) transmit(queue);
}

void VirtioNet::transmit(Virtqueue& queue) {
  DescriptorChain chain;
  while (queue.pop(chain) == Virtqueue::Pop::kChain) {
    const TxVerdict verdict = read_tx_frame(chain, backends::net::kMaxFrameSize, tx_frame_);
    if (verdict == TxVerdict::kOk) backend_->send(tx_frame_);
    {
      std::lock_guard lock(rx_mutex_);
      if (verdict == TxVerdict::kOk) {
        ++counters_.tx_frames;
        counters_.tx_bytes += tx_frame_.size();
      } else {
        ++counters_.tx_dropped;
      }
    }
    if (verdict != TxVerdict::kOk)
      warn_once(kWarnTx, fmt::format("TX dropped: {}", to_string(verdict)));
    queue.push_used(chain.head, 0);  // TX buffers are read-only: nothing written
  }
}

void VirtioNet::fill_rx(Virtqueue& queue) {
  DescriptorChain chain;
  std::unique_lock lock(rx_mutex_);
  while (!pending_.empty()) {
    // Pop only with a frame in hand: an empty pop also arms avail_event (EVENT_IDX), so the
    // driver notifies when it adds buffers.
    if (queue.pop(chain) != Virtqueue::Pop::kChain) break;
    std::vector<uint8_t> frame = std::move(pending_.front());
    pending_.pop_front();
    const uint32_t written = write_rx_frame(chain, frame);
    if (written == 0) {
      ++counters_.rx_too_big;
      warn_once(kWarnRxTooBig, "RX frame larger than the guest's buffer: dropped");
    } else {
      ++counters_.rx_frames;
      counters_.rx_bytes += frame.size();
    }
    queue.push_used(chain.head, written);
  }
}

void VirtioNet::receive(std::span<const uint8_t> frame) {
  {
    std::lock_guard lock(rx_mutex_);
    if (pending_.size() >= kMaxPendingFrames) {
      ++counters_.rx_dropped;
      warn_once(kWarnRxFull, "RX frames arrive faster than the guest takes them: dropping");
      return;
    }
    pending_.emplace_back(frame.begin(), frame.end());
  }
  std::lock_guard lock(kick_mutex_);
  if (kick_) kick_(kRxQueue);
}

NetCounters VirtioNet::counters() const {
  std::lock_guard lock(rx_mutex_);
  return counters_;
}

size_t VirtioNet::pending_frames() const {
  std::lock_guard lock(rx_mutex_);
  return pending_.size();
}

Result<void> VirtioNet::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(rx_mutex_);
  out(mac_, uint64_t{pending_.size()});
  for (const auto& frame : pending_) out(frame);
  return {};
}

Result<void> VirtioNet::load_state(bus::StateReader& in) {
  MacAddress mac{};
  uint64_t count = 0;
  in(mac, count);
  if (in.ok() && mac != mac_) in.fail_with("the snapshot's MAC address differs from this card's");
  if (in.ok() && count > kMaxPendingFrames)
    in.fail_with(fmt::format("{} waiting frames saved, at most {}", count, kMaxPendingFrames));
  std::deque<std::vector<uint8_t>> frames;
  for (uint64_t i = 0; i < count && in.ok(); ++i) {
    std::vector<uint8_t> frame;
    in(frame);
    if (frame.size() > backends::net::kMaxFrameSize) in.fail_with("a saved frame is too long");
    frames.push_back(std::move(frame));
  }
  if (!in.ok()) return in.finish();  // the transport checks that nothing is left over
  std::lock_guard lock(rx_mutex_);
  pending_ = std::move(frames);
  return {};
}

}  // namespace vessel::devices::virtio
