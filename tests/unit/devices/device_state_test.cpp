// Save/load round trips of the PC devices (bus::Stateful): a device is programmed, saved,
// loaded into a fresh one, and the fresh one must behave as the first did (and save the same
// bytes). Malformed blobs must be refused.
#include <gtest/gtest.h>

#include "bus/device_state.hpp"
#include "devices/legacy/acpi_pm.hpp"
#include "devices/legacy/apic_bus.hpp"
#include "devices/legacy/i8042.hpp"
#include "devices/legacy/ioapic.hpp"
#include "devices/legacy/lapic.hpp"
#include "devices/legacy/pic8259.hpp"
#include "devices/legacy/pit8254.hpp"
#include "devices/legacy/rtc_cmos.hpp"
#include "devices/legacy/uart16550.hpp"
#include "fake_vm_control.hpp"
#include "manual_timers.hpp"

namespace vessel::devices {
namespace {

struct LevelRecorder : bus::IrqSink {
  void set_irq_level(uint32_t, bool level) override {
    if (level && !last) ++rises;
    last = level;
  }
  bool last = false;
  int rises = 0;
};

uint8_t in8(bus::IoDevice& d, uint64_t at) {
  uint8_t v = 0;
  d.read(at, std::span(&v, 1));
  return v;
}
void out8(bus::IoDevice& d, uint64_t at, uint8_t v) {
  d.write(at, std::span(&v, 1));
}
uint32_t in32(bus::IoDevice& d, uint64_t at) {
  uint8_t b[4]{};
  d.read(at, b);
  return static_cast<uint32_t>(bus::load_le(b));
}
void out32(bus::IoDevice& d, uint64_t at, uint32_t v) {
  uint8_t b[4];
  bus::store_le(b, v);
  d.write(at, b);
}

std::vector<uint8_t> save(const bus::Stateful& d) {
  bus::StateWriter w;
  EXPECT_TRUE(d.save_state(w));
  return w.data();
}

// Loads `blob` into `d` and checks it saves the same bytes back.
void load_same(bus::Stateful& d, const std::vector<uint8_t>& blob) {
  bus::StateReader r(blob);
  auto ok = d.load_state(r);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(save(d), blob);
}

void refuses_truncated(bus::Stateful& d, const std::vector<uint8_t>& blob) {
  ASSERT_FALSE(blob.empty());
  const auto shorter = std::span<const uint8_t>(blob).first(blob.size() - 1);
  bus::StateReader r(shorter);
  EXPECT_FALSE(d.load_state(r));
}

TEST(DeviceState, UartKeepsRegistersAndReceivedBytes) {
  LevelRecorder irq;
  std::vector<uint8_t> sent;
  Uart16550 a(bus::IrqLine(&irq, 4),
              [&](std::span<const uint8_t> b) { sent.insert(sent.end(), b.begin(), b.end()); });
  out8(a, 3, 0x83);  // DLAB
  out8(a, 0, 0x01);  // 115200 baud
  out8(a, 3, 0x03);  // 8N1
  out8(a, 2, 0x07);  // FIFOs on
  out8(a, 7, 0x5a);  // scratch
  const uint8_t input[] = {'h', 'i'};
  a.receive(input);
  const auto blob = save(a);

  Uart16550 b(bus::IrqLine(&irq, 4), nullptr);
  load_same(b, blob);
  EXPECT_EQ(in8(b, 3), 0x03);
  EXPECT_EQ(in8(b, 7), 0x5a);
  EXPECT_EQ(in8(b, 5) & 1, 1);  // data ready
  EXPECT_EQ(in8(b, 0), 'h');
  EXPECT_EQ(in8(b, 0), 'i');
  out8(b, 3, 0x83);
  EXPECT_EQ(in8(b, 0), 0x01);  // divisor latch survived
  refuses_truncated(b, blob);
}

TEST(DeviceState, PitTimerIsArmedAgainAtTheSameEdge) {
  test::ManualTimers timers;
  LevelRecorder irq;
  Pit8254 a(timers, bus::IrqLine(&irq, 0));
  out8(a, 0x43, 0x34);  // channel 0, lo/hi, mode 2 (rate generator)
  out8(a, 0x40, 0xa9);
  out8(a, 0x40, 0x04);  // 1193 ticks: ~1 kHz
  timers.advance(300'000);
  const auto blob = save(a);

  test::ManualTimers timers2;
  timers2.advance(timers.now() - timers2.now());  // the restored VM clock
  LevelRecorder irq2;
  Pit8254 b(timers2, bus::IrqLine(&irq2, 0));
  load_same(b, blob);
  // The same counter value on both, and the restored one interrupts at the same rate.
  out8(a, 0x43, 0x00);
  out8(b, 0x43, 0x00);
  EXPECT_EQ(in8(a, 0x40), in8(b, 0x40));
  EXPECT_EQ(in8(a, 0x40), in8(b, 0x40));
  timers2.advance(10'000'000);
  EXPECT_GE(irq2.rises, 9);
  EXPECT_LE(irq2.rises, 11);
}

TEST(DeviceState, PitRefusesOutOfRangeChannels) {
  test::ManualTimers timers;
  LevelRecorder irq;
  Pit8254 a(timers, bus::IrqLine(&irq, 0));
  auto blob = save(a);
  blob[0] = 9;  // channel 0's mode
  bus::StateReader r(blob);
  EXPECT_FALSE(a.load_state(r));
}

TEST(DeviceState, PicKeepsInitialisationAndMasks) {
  Pic8259 a;
  for (auto [port, v] : {std::pair<uint16_t, uint8_t>{0x20, 0x11},
                         {0x21, 0x30},
                         {0x21, 0x04},
                         {0x21, 0x01},
                         {0x21, 0xfa}}) {
    out8(a, port, v);
  }
  a.set_irq_level(0, true);
  const auto blob = save(a);
  Pic8259 b;
  load_same(b, blob);
  EXPECT_EQ(in8(b, 0x21), 0xfa);
  EXPECT_TRUE(b.interrupt_pending());
  EXPECT_EQ(b.acknowledge(), std::optional<uint8_t>(0x30));
}

TEST(DeviceState, IoApicKeepsRedirectionEntries) {
  ApicBus bus;
  IoApic a(bus);
  out32(a, 0x00, 0x10 + 2 * 3);
  out32(a, 0x10, 0x0000a041);
  const auto blob = save(a);
  ApicBus bus2;
  IoApic b(bus2);
  load_same(b, blob);
  out32(b, 0x00, 0x10 + 2 * 3);
  EXPECT_EQ(in32(b, 0x10), 0x0000a041u);
}

TEST(DeviceState, LocalApicKeepsTimerAndPendingVectors) {
  test::ManualTimers timers;
  ApicBus bus;
  LocalApic a(0, bus, timers, true);
  out32(a, 0xf0, 0x1ff);       // software enable
  out32(a, 0x3e0, 0xb);        // divide by 1
  out32(a, 0x320, 0x20040);    // periodic, vector 0x40
  out32(a, 0x380, 1'000'000);  // 1 ms at 1 GHz
  a.accept(ApicMessage{.vector = 0x50});
  timers.advance(250'000);
  const auto blob = save(a);

  test::ManualTimers timers2;
  timers2.advance(timers.now() - timers2.now());
  ApicBus bus2;
  LocalApic b(0, bus2, timers2, true);
  load_same(b, blob);
  EXPECT_EQ(in32(b, 0x390), in32(a, 0x390));  // current count
  EXPECT_EQ(b.acknowledge(), std::optional<uint8_t>(0x50));
  out32(b, 0xb0, 0);  // EOI
  timers2.advance(800'000);
  EXPECT_EQ(b.acknowledge(), std::optional<uint8_t>(0x40));  // the timer fired on time
}

TEST(DeviceState, RtcKeepsCmosAndGuestTime) {
  test::ManualTimers timers;
  LevelRecorder irq;
  RtcCmos a(timers, bus::IrqLine(&irq, 8), time_t{1'700'000'000});
  out8(a, 0x70, 0x40);
  out8(a, 0x71, 0x99);  // a CMOS byte
  timers.advance(5'000'000'000);
  const auto blob = save(a);
  test::ManualTimers timers2;
  timers2.advance(timers.now() - timers2.now());
  LevelRecorder irq2;
  RtcCmos b(timers2, bus::IrqLine(&irq2, 8), time_t{1'800'000'000});  // another wall clock
  load_same(b, blob);
  out8(b, 0x70, 0x40);
  EXPECT_EQ(in8(b, 0x71), 0x99);
  for (uint8_t reg : {0, 2, 4, 7, 8, 9}) {  // the guest's time, not the new host's
    out8(a, 0x70, reg);
    out8(b, 0x70, reg);
    EXPECT_EQ(in8(a, 0x71), in8(b, 0x71)) << int(reg);
  }
}

TEST(DeviceState, I8042KeepsCommandByteAndQueuedBytes) {
  test::FakeVmControl control;
  LevelRecorder irq;
  I8042 a(control, bus::IrqLine(&irq, 1));
  out8(a, 0x64, 0x60);
  out8(a, 0x60, 0x47);  // command byte: translate, SYS, keyboard interrupt
  a.press_ctrl_alt_del();
  const auto blob = save(a);
  LevelRecorder irq2;
  I8042 b(control, bus::IrqLine(&irq2, 1));
  load_same(b, blob);
  out8(b, 0x64, 0x20);
  // The Ctrl-Alt-Del scancodes come first (set 1 since the controller translates) ...
  const uint8_t expected[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
  for (uint8_t e : expected) EXPECT_EQ(in8(b, 0x60), e);
  EXPECT_EQ(in8(b, 0x60), 0x47);  // ... then the command byte read just now
}

TEST(DeviceState, I8042SendsSet2WithoutTranslation) {
  test::FakeVmControl control;
  LevelRecorder irq;
  I8042 kbc(control, bus::IrqLine(&irq, 1));
  out8(kbc, 0x64, 0x60);
  out8(kbc, 0x60, 0x05);  // no translation
  kbc.press_ctrl_alt_del();
  EXPECT_EQ(irq.rises, 1);
  const uint8_t expected[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};
  for (uint8_t e : expected) EXPECT_EQ(in8(kbc, 0x60), e);
}

TEST(DeviceState, AcpiPmTimerGoesOnFromTheSavedCount) {
  test::FakeVmControl control;
  test::ManualTimers timers;
  timers.advance(1'000'000);
  AcpiPm a(timers.clock(), control);
  timers.advance(3'000'000'000);
  const auto blob = save(a);
  AcpiPm b(timers.clock(), control);  // made later: its own timer would start at 0
  load_same(b, blob);
  EXPECT_EQ(in32(a, acpi_pm::kPmTimerPort), in32(b, acpi_pm::kPmTimerPort));
}

}  // namespace
}  // namespace vessel::devices
