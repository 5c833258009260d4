#include "devices/virtio/descriptor_chain.hpp"

#include <algorithm>
#include <cstring>

namespace vessel::devices::virtio {
namespace {

uint64_t total(std::span<const std::span<uint8_t>> buffers, size_t index, uint64_t offset) {
  uint64_t n = 0;
  for (size_t i = index; i < buffers.size(); ++i) n += buffers[i].size();
  return n - offset;
}

}  // namespace

uint64_t ChainReader::remaining() const {
  return total(buffers_, index_, offset_);
}

bool ChainReader::read(std::span<uint8_t> out) {
  if (remaining() < out.size()) return false;
  size_t done = 0;
  while (done < out.size()) {
    auto buf = buffers_[index_];
    const uint64_t n = std::min<uint64_t>(buf.size() - offset_, out.size() - done);
    if (n > 0) std::memcpy(out.data() + done, buf.data() + offset_, n);
    done += n;
    offset_ += n;
    if (offset_ == buf.size()) ++index_, offset_ = 0;
  }
  consumed_ += out.size();
  return true;
}

bool ChainReader::skip(uint64_t n) {
  if (remaining() < n) return false;
  while (n > 0) {
    auto buf = buffers_[index_];
    const uint64_t step = std::min<uint64_t>(buf.size() - offset_, n);
    n -= step;
    offset_ += step;
    if (offset_ == buf.size()) ++index_, offset_ = 0;
  }
  return true;
}

uint64_t ChainWriter::remaining() const {
  return total(buffers_, index_, offset_);
}

uint64_t ChainWriter::write(std::span<const uint8_t> in) {
  uint64_t done = 0;
  while (done < in.size() && index_ < buffers_.size()) {
    auto buf = buffers_[index_];
    const uint64_t n = std::min<uint64_t>(buf.size() - offset_, in.size() - done);
    if (n > 0) std::memcpy(buf.data() + offset_, in.data() + done, n);
    done += n;
    offset_ += n;
    if (offset_ == buf.size()) ++index_, offset_ = 0;
  }
  written_ += done;
  return done;
}

std::vector<std::span<uint8_t>> ChainWriter::take(uint64_t n) {
  std::vector<std::span<uint8_t>> out;
  while (n > 0 && index_ < buffers_.size()) {
    auto buf = buffers_[index_];
    const uint64_t step = std::min<uint64_t>(buf.size() - offset_, n);
    if (step > 0) out.push_back(buf.subspan(offset_, step));
    n -= step;
    offset_ += step;
    written_ += step;
    if (offset_ == buf.size()) ++index_, offset_ = 0;
  }
  return out;
}

}  // namespace vessel::devices::virtio
