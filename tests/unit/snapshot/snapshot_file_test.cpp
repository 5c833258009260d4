#include "snapshot/snapshot_file.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "bus/device_state.hpp"

namespace vessel::snapshot {
namespace {

SnapshotFile sample() {
  SnapshotFile f;
  f.vessel_version = "0.1.0-test";
  f.add(SectionId::kMachine, {1, 2, 3});
  f.add(SectionId::kClock, {});
  f.add(SectionId::kVcpu, std::vector<uint8_t>(300, 0xab));
  f.add(SectionId::kDevices, {9, 8, 7, 6, 5});
  return f;
}

// Offsets where each section starts, and the end of the last one (before the checksum).
std::vector<size_t> section_boundaries(const SnapshotFile& f) {
  size_t at = sizeof kMagic + 4 + 2 + f.vessel_version.size() + 4;
  std::vector<size_t> out{at};
  for (const auto& s : f.sections) {
    at += 4 + 8 + s.data.size();
    out.push_back(at);
  }
  return out;
}

TEST(SnapshotFile, RoundTrip) {
  const auto f = sample();
  const auto bytes = encode(f);
  auto back = decode(bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->vessel_version, f.vessel_version);
  ASSERT_EQ(back->sections.size(), f.sections.size());
  for (size_t i = 0; i < f.sections.size(); ++i) {
    EXPECT_EQ(back->sections[i].id, f.sections[i].id);
    EXPECT_EQ(back->sections[i].data, f.sections[i].data);
  }
  EXPECT_EQ(back->find(SectionId::kVcpu).size(), 1u);
  EXPECT_TRUE(back->find(SectionId::kMemory).empty());
}

TEST(SnapshotFile, TruncationAtEverySectionBoundaryIsRefused) {
  const auto f = sample();
  const auto bytes = encode(f);
  for (size_t cut : section_boundaries(f)) {
    auto r = decode(std::span(bytes).first(cut));
    ASSERT_FALSE(r) << "cut at " << cut;
    EXPECT_NE(r.error().message.find("truncated"), std::string::npos) << r.error().message;
  }
  // And every other length short of the whole file.
  for (size_t cut = 0; cut < bytes.size(); ++cut) EXPECT_FALSE(decode(std::span(bytes).first(cut)));
}

TEST(SnapshotFile, CorruptedByteOrChecksumIsRefused) {
  auto bytes = encode(sample());
  for (size_t at : {size_t{14}, bytes.size() / 2, bytes.size() - 1}) {
    auto copy = bytes;
    copy[at] ^= 0x40;
    auto r = decode(copy);
    ASSERT_FALSE(r) << "byte " << at;
    EXPECT_NE(r.error().message.find("checksum"), std::string::npos) << r.error().message;
  }
}

TEST(SnapshotFile, WrongVersionIsRefusedByName) {
  auto f = sample();
  f.format_version = kFormatVersion + 1;
  auto r = decode(encode(f));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("format version"), std::string::npos) << r.error().message;
}

TEST(SnapshotFile, WrongMagicIsRefused) {
  auto bytes = encode(sample());
  bytes[0] = 'X';
  auto r = decode(bytes);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("magic"), std::string::npos) << r.error().message;
  EXPECT_FALSE(decode(std::vector<uint8_t>{}));
}

TEST(SnapshotFile, WritesAndReadsFiles) {
  char path[] = "/tmp/vessel-snapfile-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_TRUE(write_file(path, sample()));
  auto back = read_file(path);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->sections.size(), 4u);
  {
    std::ofstream truncate(path, std::ios::binary | std::ios::trunc);
    truncate << "VESSELSN";
  }
  auto bad = read_file(path);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find(path), std::string::npos);  // names the file
  std::remove(path);
  EXPECT_FALSE(read_file(path));
}

TEST(StateStream, RoundTripsValuesAndContainers) {
  bus::StateWriter w;
  std::vector<uint16_t> v{1, 2, 3};
  std::string s = "name";
  std::optional<uint32_t> some = 7, none;
  std::vector<bool> bits{true, false, true};
  w(uint8_t{5}, int64_t{-3}, v, s, some, none, bits, true);
  bus::StateReader r(w.data());
  uint8_t a = 0;
  int64_t b = 0;
  std::vector<uint16_t> v2;
  std::string s2;
  std::optional<uint32_t> some2, none2 = 1;
  std::vector<bool> bits2;
  bool flag = false;
  r(a, b, v2, s2, some2, none2, bits2, flag);
  ASSERT_TRUE(r.finish());
  EXPECT_EQ(a, 5);
  EXPECT_EQ(b, -3);
  EXPECT_EQ(v2, v);
  EXPECT_EQ(s2, s);
  EXPECT_EQ(some2, some);
  EXPECT_FALSE(none2);
  EXPECT_EQ(bits2, bits);
  EXPECT_TRUE(flag);
}

TEST(StateStream, ShortOrOverlongBlobsFail) {
  bus::StateWriter w;
  w(uint32_t{1});
  bus::StateReader shorter(w.data());
  uint64_t too_big = 0;
  shorter(too_big);
  EXPECT_FALSE(shorter.finish());

  bus::StateReader longer(w.data());
  uint16_t half = 0;
  longer(half);
  EXPECT_FALSE(longer.finish());  // bytes left over

  // A length prefix beyond the blob is refused without allocating it.
  bus::StateWriter huge;
  huge(uint64_t{1} << 60);
  bus::StateReader r(huge.data());
  std::vector<uint8_t> v;
  r(v);
  EXPECT_FALSE(r.finish());
  EXPECT_TRUE(v.empty());
}

}  // namespace
}  // namespace vessel::snapshot
