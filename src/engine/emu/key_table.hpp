// KeyTable: a flat open-addressing hash table from 64-bit keys to values, for the code cache's
// block index (key: gpa << 2 | mode). std::unordered_map cost a node allocation per block, a
// division per lookup and a pointer chase to the node; here a lookup is a multiply, a shift
// and usually one cache line. Linear probing; erase shifts the following entries back, so
// there are no tombstones and lookups never slow down after invalidations. One key value,
// kEmpty, marks free slots and cannot be stored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

namespace vessel::engine::emu {

template <class V>
class KeyTable {
 public:
  static constexpr uint64_t kEmpty = ~0ull;

  // The value stored for `key`, or nullptr. Valid until the next insert or erase.
  V* find(uint64_t key) {
    if (size_ == 0) return nullptr;
    for (size_t i = home(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kEmpty) return nullptr;
    }
  }

  // Stores `value` for `key` (replacing any value it had) and returns where it now lives.
  V& insert(uint64_t key, V value) {
    if ((size_ + 1) * 4 > capacity() * 3) grow();  // load factor at most 3/4
    size_t i = home(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    if (slots_[i].key == kEmpty) ++size_;
    slots_[i].key = key;
    slots_[i].value = std::move(value);
    return slots_[i].value;
  }

  // Removes `key` and hands its value back (a default V when it was absent).
  V take(uint64_t key) {
    if (size_ == 0) return V{};
    size_t i = home(key);
    while (slots_[i].key != key) {
      if (slots_[i].key == kEmpty) return V{};
      i = (i + 1) & mask_;
    }
    V out = std::move(slots_[i].value);
    // Backward-shift deletion: move each following entry of the probe run into the hole
    // unless the hole lies before its home slot (cyclically), where a lookup would not find it.
    for (size_t j = (i + 1) & mask_; slots_[j].key != kEmpty; j = (j + 1) & mask_) {
      const size_t h = home(slots_[j].key);
      if (((j - h) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = std::move(slots_[j]);
        i = j;
      }
    }
    slots_[i].key = kEmpty;
    slots_[i].value = V{};
    --size_;
    return out;
  }

  // Fibonacci hashing: the multiply spreads gpa's low zero bits and page-aligned runs over
  // the top bits, which index the table.
  // (Public for tests that need colliding keys.)
  size_t home(uint64_t key) const { return (key * 0x9e3779b97f4a7c15ull) >> shift_; }
  size_t size() const { return size_; }
  size_t capacity() const { return slots_ ? mask_ + 1 : 0; }

  // Calls fn(key, value&) for every entry, in no particular order. fn must not insert or erase.
  template <class Fn>
  void for_each(Fn&& fn) {
    for (size_t i = 0; i < capacity(); ++i)
      if (slots_[i].key != kEmpty) fn(slots_[i].key, slots_[i].value);
  }

 private:
  struct Slot {
    uint64_t key = kEmpty;
    V value{};
  };

  void grow() {
    const size_t old_capacity = capacity();
    const size_t capacity = old_capacity ? 2 * old_capacity : 64;
    std::unique_ptr<Slot[]> old = std::exchange(slots_, std::make_unique<Slot[]>(capacity));
    mask_ = capacity - 1;
    shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(capacity));
    size_ = 0;
    for (size_t i = 0; i < old_capacity; ++i)
      if (old[i].key != kEmpty) insert(old[i].key, std::move(old[i].value));
  }

  std::unique_ptr<Slot[]> slots_;
  size_t mask_ = 0, size_ = 0;
  unsigned shift_ = 64;
};

}  // namespace vessel::engine::emu
