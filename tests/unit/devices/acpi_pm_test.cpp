#include "devices/legacy/acpi_pm.hpp"

#include <gtest/gtest.h>

#include "devices/legacy/port80.hpp"
#include "fake_vm_control.hpp"
#include "manual_timers.hpp"

namespace vessel::devices {
namespace {

class AcpiPmTest : public ::testing::Test {
 protected:
  uint32_t in(uint16_t port, size_t size) {
    uint8_t b[4] = {};
    pm.read(port, std::span(b, size));
    return static_cast<uint32_t>(bus::load_le(std::span<const uint8_t>(b, size)));
  }
  void out(uint16_t port, uint32_t v, size_t size) {
    uint8_t b[4];
    bus::store_le(b, v);
    pm.write(port, std::span<const uint8_t>(b, size));
  }

  test::ManualClock clock;
  test::FakeVmControl control;
  AcpiPm pm{clock, control};
};

TEST_F(AcpiPmTest, PowerOffWithS5) {
  EXPECT_EQ(in(acpi_pm::kPm1aControlPort, 2) & 1, 1u);  // SCI_EN
  out(acpi_pm::kPm1aControlPort, 3u << 10, 2);          // SLP_TYP without SLP_EN
  EXPECT_TRUE(control.exits.empty());
  out(acpi_pm::kPm1aControlPort, (5u << 10) | (1u << 13), 2);
  ASSERT_EQ(control.exits.size(), 1u);
  EXPECT_EQ(control.exits[0].first, 0);
  EXPECT_EQ(control.exits[0].second, "guest powered off");
  EXPECT_EQ(in(acpi_pm::kPm1aControlPort, 2) & (1u << 13), 0u);  // SLP_EN reads 0
}

TEST_F(AcpiPmTest, OtherSleepStatesDoNotExit) {
  out(acpi_pm::kPm1aControlPort, (1u << 10) | (1u << 13), 2);
  EXPECT_TRUE(control.exits.empty());
}

TEST_F(AcpiPmTest, PmTimerFollowsClockAndWraps24Bits) {
  const uint32_t t0 = in(acpi_pm::kPmTimerPort, 4);
  clock.now += 1'000'000;  // 1 ms = 3579.545 ticks
  const uint32_t t1 = in(acpi_pm::kPmTimerPort, 4);
  EXPECT_NEAR(static_cast<double>(t1 - t0), 3579.5, 1.0);
  clock.now += 5'000'000'000;  // 5 s: past 2^24 ticks (4.69 s)
  EXPECT_LT(in(acpi_pm::kPmTimerPort, 4), 1u << 24);
  EXPECT_EQ(in(acpi_pm::kPm1aEventPort, 2) & 1, 1u);  // TMR_STS: bit 23 toggled
  out(acpi_pm::kPm1aEventPort, 1, 2);
  EXPECT_EQ(in(acpi_pm::kPm1aEventPort, 2) & 1, 0u);
}

TEST_F(AcpiPmTest, EnableRegister) {
  out(acpi_pm::kPm1aEventPort + 2, 0xffff, 2);
  EXPECT_EQ(in(acpi_pm::kPm1aEventPort + 2, 2), 0x0521u);
  EXPECT_EQ(in(acpi_pm::kPm1aEventPort, 4) >> 16, 0x0521u);  // one dword over STS and EN
}

TEST_F(AcpiPmTest, ResetRegister) {
  out(acpi_pm::kResetPort, 0x02, 1);
  EXPECT_TRUE(control.resets.empty());
  out(acpi_pm::kResetPort, acpi_pm::kResetValue, 1);
  EXPECT_EQ(control.resets.size(), 1u);
  out(acpi_pm::kResetPort, 0x00, 1);
  out(acpi_pm::kResetPort, 0x0e, 1);
  EXPECT_EQ(control.resets.size(), 2u);
}

TEST_F(AcpiPmTest, AttachesAtDocumentedPorts) {
  bus::Bus pio("pio");
  auto dev = std::make_shared<AcpiPm>(clock, control);
  ASSERT_TRUE(attach_ports(pio, dev, AcpiPm::kPorts));
  uint8_t b[2];
  bus::store_le(b, (5u << 10) | (1u << 13));
  EXPECT_TRUE(pio.write(0x604, b));
  EXPECT_EQ(control.exits.size(), 1u);
  EXPECT_FALSE(attach_ports(pio, dev, AcpiPm::kPorts));  // overlapping ranges refused
}

TEST(Port80, SwallowsWrites) {
  Port80 port;
  uint8_t v = 0x42;
  port.write(0, std::span(&v, 1));
  EXPECT_EQ(port.last_code(), 0x42);
  port.read(0, std::span(&v, 1));
  EXPECT_EQ(v, 0xff);
}

}  // namespace
}  // namespace vessel::devices
