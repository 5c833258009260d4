// KeyTable: the code cache's block index. Checked against std::unordered_map on the same
// operations, with keys chosen to collide (same home slot) and to wrap around the table's end.
#include "engine/emu/key_table.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

namespace vessel::engine::emu {
namespace {

TEST(KeyTable, EmptyTableFindsNothing) {
  KeyTable<int> t;
  EXPECT_EQ(t.find(0), nullptr);
  EXPECT_EQ(t.find(12345), nullptr);
  EXPECT_EQ(t.take(7), 0);
  EXPECT_EQ(t.size(), 0u);
}

TEST(KeyTable, InsertFindReplaceAndTake) {
  KeyTable<int> t;
  t.insert(0x1000 << 2 | 2, 1);
  t.insert(0x1000 << 2 | 1, 2);  // same address, other mode: another key
  ASSERT_NE(t.find(0x1000 << 2 | 2), nullptr);
  EXPECT_EQ(*t.find(0x1000 << 2 | 2), 1);
  EXPECT_EQ(*t.find(0x1000 << 2 | 1), 2);
  EXPECT_EQ(t.find(0x1000 << 2 | 0), nullptr);
  t.insert(0x1000 << 2 | 2, 3);
  EXPECT_EQ(*t.find(0x1000 << 2 | 2), 3);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.take(0x1000 << 2 | 2), 3);
  EXPECT_EQ(t.find(0x1000 << 2 | 2), nullptr);
  EXPECT_EQ(*t.find(0x1000 << 2 | 1), 2);
  EXPECT_EQ(t.size(), 1u);
}

TEST(KeyTable, OwnsMoveOnlyValues) {
  KeyTable<std::unique_ptr<int>> t;
  t.insert(5, std::make_unique<int>(50));
  std::unique_ptr<int> v = t.take(5);
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 50);
  EXPECT_FALSE(t.take(5));
}

// Keys with the same home slot form one probe run; erasing from its middle must keep every
// later member reachable (backward-shift deletion), also when the run wraps past the end.
TEST(KeyTable, CollidingKeysStayReachableAfterErase) {
  KeyTable<uint64_t> t;
  t.insert(0, 0);  // the table now has its first capacity
  const size_t capacity = t.capacity();
  ASSERT_GT(capacity, 8u);
  // Find keys sharing key 0's home slot, and keys whose home is the last slot (the run wraps).
  std::vector<uint64_t> same_home, last_home;
  for (uint64_t k = 1; same_home.size() < 4 || last_home.size() < 4; ++k) {
    if (t.home(k) == t.home(0) && same_home.size() < 4) same_home.push_back(k);
    if (t.home(k) == capacity - 1 && last_home.size() < 4) last_home.push_back(k);
  }
  for (uint64_t k : same_home) t.insert(k, k + 100);
  for (uint64_t k : last_home) t.insert(k, k + 100);
  ASSERT_EQ(t.capacity(), capacity);  // no growth in between: the collisions are real
  EXPECT_EQ(t.take(same_home[1]), same_home[1] + 100);
  EXPECT_EQ(t.take(last_home[0]), last_home[0] + 100);
  EXPECT_EQ(t.find(same_home[1]), nullptr);
  EXPECT_EQ(t.find(last_home[0]), nullptr);
  for (uint64_t k :
       {same_home[0], same_home[2], same_home[3], last_home[1], last_home[2], last_home[3]}) {
    ASSERT_NE(t.find(k), nullptr) << k;
    EXPECT_EQ(*t.find(k), k + 100);
  }
  EXPECT_EQ(*t.find(0), 0u);
  EXPECT_EQ(t.size(), 1u + 3 + 3);
}

TEST(KeyTable, GrowsAndKeepsEveryEntry) {
  KeyTable<uint64_t> t;
  size_t last_capacity = 0, growths = 0;
  for (uint64_t i = 0; i < 100000; ++i) {
    t.insert(i << 14 | 2, i);  // page-aligned addresses, as blocks often are
    if (t.capacity() != last_capacity) ++growths, last_capacity = t.capacity();
    EXPECT_LE(t.size() * 4, t.capacity() * 3);
  }
  EXPECT_GT(growths, 5u);
  for (uint64_t i = 0; i < 100000; ++i) {
    const uint64_t* v = t.find(i << 14 | 2);
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(*v, i);
  }
  EXPECT_EQ(t.find(100000ull << 14 | 2), nullptr);
}

// Random inserts, replacements and erasures (invalidations) against std::unordered_map.
TEST(KeyTable, MatchesUnorderedMapUnderRandomInvalidation) {
  KeyTable<uint64_t> t;
  std::unordered_map<uint64_t, uint64_t> ref;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 200000; ++step) {
    const uint64_t key = (rng() % 4096) << 2 | (rng() % 3);
    switch (rng() % 3) {
      case 0:
      case 1:
        t.insert(key, step);
        ref[key] = step;
        break;
      default: {
        const auto it = ref.find(key);
        EXPECT_EQ(t.take(key), it == ref.end() ? 0 : it->second);
        if (it != ref.end()) ref.erase(it);
      }
    }
  }
  EXPECT_EQ(t.size(), ref.size());
  for (uint64_t k = 0; k < (4096u << 2); ++k) {
    const auto it = ref.find(k);
    const uint64_t* v = t.find(k);
    ASSERT_EQ(v != nullptr, it != ref.end()) << k;
    if (v) {
      EXPECT_EQ(*v, it->second);
    }
  }
  size_t visited = 0;
  t.for_each([&](uint64_t k, uint64_t& v) {
    ++visited;
    EXPECT_EQ(ref.at(k), v);
  });
  EXPECT_EQ(visited, ref.size());
}

}  // namespace
}  // namespace vessel::engine::emu
