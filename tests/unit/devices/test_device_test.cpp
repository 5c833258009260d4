#include "devices/legacy/test_device.hpp"

#include <array>

#include <gtest/gtest.h>

namespace vessel::devices {
namespace {

TEST(TestDevice, ReadsBackWritesAtEveryWidth) {
  TestDevice dev;
  const std::array<uint8_t, 8> q = {1, 2, 3, 4, 5, 6, 7, 8};
  dev.write(0x100, q);
  std::array<uint8_t, 8> out{};
  dev.read(0x100, out);
  EXPECT_EQ(out, q);

  // Memory-like: a dword written is visible as its bytes and words (little-endian).
  dev.write(0x10, std::array<uint8_t, 4>{0x44, 0x33, 0x22, 0x11});
  std::array<uint8_t, 1> b{};
  dev.read(0x11, b);
  EXPECT_EQ(b[0], 0x33);
  std::array<uint8_t, 2> w{};
  dev.read(0x12, w);
  EXPECT_EQ(bus::load_le(w), 0x1122u);
  // A byte write changes one byte only.
  dev.write(0x12, std::array<uint8_t, 1>{0xaa});
  std::array<uint8_t, 4> d{};
  dev.read(0x10, d);
  EXPECT_EQ(bus::load_le(d), 0x11aa3344u);
}

TEST(TestDevice, StartsZeroedAndCoversTheWholeWindow) {
  TestDevice dev;
  std::array<uint8_t, 4> d{};
  dev.read(kTestDeviceSize - 4, d);
  EXPECT_EQ(bus::load_le(d), 0u);
  dev.write(kTestDeviceSize - 4, std::array<uint8_t, 4>{9, 9, 9, 9});
  dev.read(kTestDeviceSize - 4, d);
  EXPECT_EQ(bus::load_le(d), 0x09090909u);
}

TEST(TestDevice, AccessesBeyondTheBufferAreHarmless) {
  TestDevice dev;
  dev.write(kTestDeviceSize - 2, std::array<uint8_t, 4>{1, 2, 3, 4});  // straddles the end
  std::array<uint8_t, 4> d{};
  dev.read(kTestDeviceSize - 2, d);
  EXPECT_EQ(d, (std::array<uint8_t, 4>{1, 2, 0xff, 0xff}));
  dev.write(~0ull - 1, std::array<uint8_t, 4>{1, 2, 3, 4});  // offset + size would wrap
  dev.read(~0ull - 1, d);
  EXPECT_EQ(d, (std::array<uint8_t, 4>{0xff, 0xff, 0xff, 0xff}));
  dev.read(0, d);
  EXPECT_EQ(bus::load_le(d), 0u);  // the wrapped write did not land at the start
}

}  // namespace
}  // namespace vessel::devices
