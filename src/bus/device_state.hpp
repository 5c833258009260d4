// Device state for snapshots: a device that can be saved implements Stateful, writing its
// registers to a StateWriter and reading them back from a StateReader. The machine collects
// the devices' blobs into the snapshot file (src/snapshot); devices know nothing of files,
// engines or other devices.
//
// Values are stored in host byte order and layout (vessel runs on x86-64 only); the snapshot
// format version changes whenever a device's layout does. A StateReader never reads past its
// bytes: a short or malformed blob makes every later read yield zeros and finish() fail, so a
// device's load needs no error check per field, only a check of the indices it will use.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "base/result.hpp"

namespace vessel::bus {

class StateWriter {
 public:
  template <class... Ts>
  void operator()(const Ts&... values) {
    (put(values), ...);
  }
  void bytes(std::span<const uint8_t> data) { data_.insert(data_.end(), data.begin(), data.end()); }
  std::vector<uint8_t>& data() { return data_; }

 private:
  template <class T>
  void put(const T& v) {
    if constexpr (std::is_trivially_copyable_v<T>) {
      bytes({reinterpret_cast<const uint8_t*>(&v), sizeof v});
    } else {
      put(uint64_t{v.size()});
      for (const auto& e : v) put(static_cast<const typename T::value_type&>(e));
    }
  }
  template <class T>
  void put(const std::optional<T>& v) {
    put(v.has_value());
    if (v) put(*v);
  }
  void put(const std::vector<bool>& v) {
    put(uint64_t{v.size()});
    for (bool b : v) put(b);
  }
  std::vector<uint8_t> data_;
};

class StateReader {
 public:
  explicit StateReader(std::span<const uint8_t> data) : data_(data) {}

  template <class... Ts>
  void operator()(Ts&... values) {
    (get(values), ...);
  }
  // `n` raw bytes (an empty span, and the reader failed, when fewer are left).
  std::span<const uint8_t> bytes(size_t n) {
    if (failed_ || n > data_.size() - pos_) {
      fail_with("truncated");
      return {};
    }
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  // Marks the blob invalid (a device found a value out of range).
  void fail_with(std::string why) {
    if (!failed_) error_ = std::move(why);
    failed_ = true;
  }
  bool ok() const { return !failed_; }
  // Succeeds when every read succeeded and every byte was consumed.
  Result<void> finish() const {
    if (failed_) return fail("{}", error_);
    if (pos_ != data_.size()) return fail("{} unexpected bytes at the end", data_.size() - pos_);
    return {};
  }

 private:
  template <class T>
  void get(T& v) {
    if constexpr (std::is_trivially_copyable_v<T>) {
      auto in = bytes(sizeof v);
      if (in.size() == sizeof v) std::memcpy(&v, in.data(), sizeof v);
    } else {
      uint64_t n = 0;
      get(n);
      // Each element takes at least one byte: a length beyond what is left is corrupt (and
      // never becomes a huge allocation).
      if (n > data_.size() - pos_) return fail_with("truncated");
      v.clear();
      for (uint64_t i = 0; i < n && ok(); ++i) {
        typename T::value_type e{};
        get(e);
        v.push_back(e);
      }
    }
  }
  void get(bool& v) {
    auto in = bytes(1);
    v = !in.empty() && in[0] != 0;
  }
  template <class T>
  void get(std::optional<T>& v) {
    bool present = false;
    get(present);
    v.reset();
    if (present) get(v.emplace());
  }
  void get(std::vector<bool>& v) {
    uint64_t n = 0;
    get(n);
    if (n > data_.size() - pos_) return fail_with("truncated");
    v.assign(n, false);
    for (uint64_t i = 0; i < n; ++i) {
      bool b = false;
      get(b);
      v[i] = b;
    }
  }

  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool failed_ = false;
  std::string error_;
};

class Stateful {
 public:
  virtual ~Stateful() = default;
  // Called with the VM paused. May fail for a device whose state cannot be saved (yet).
  virtual Result<void> save_state(StateWriter& out) const = 0;
  // Called on a freshly built device of the same kind and configuration, before the VM runs.
  virtual Result<void> load_state(StateReader& in) = 0;
};

}  // namespace vessel::bus
