#include "devices/legacy/uart16550.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace vessel::devices {
namespace {

enum : uint64_t { kRbr = 0, kIer = 1, kIir = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6, kScr = 7 };

class FakeIrq : public bus::IrqSink {
 public:
  void set_irq_level(uint32_t gsi, bool level) override {
    last_gsi = gsi;
    levels.push_back(level);
  }
  bool level() const { return !levels.empty() && levels.back(); }
  uint32_t last_gsi = 0;
  std::vector<bool> levels;
};

class UartTest : public ::testing::Test {
 protected:
  UartTest()
      : uart(bus::IrqLine(&irq, kCom1Irq),
             [this](std::span<const uint8_t> b) { sent.insert(sent.end(), b.begin(), b.end()); }) {}

  uint8_t in(uint64_t reg) {
    uint8_t v = 0;
    uart.read(reg, std::span(&v, 1));
    return v;
  }
  void out(uint64_t reg, uint8_t v) { uart.write(reg, std::span<const uint8_t>(&v, 1)); }
  size_t feed(std::string_view s) {
    return uart.receive(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

  FakeIrq irq;
  std::vector<uint8_t> sent;
  Uart16550 uart;
};

TEST_F(UartTest, ResetValues) {
  EXPECT_EQ(in(kIer), 0x00);
  EXPECT_EQ(in(kIir), 0x01);  // no interrupt, FIFOs off
  EXPECT_EQ(in(kLcr), 0x00);
  EXPECT_EQ(in(kMcr), 0x08);  // OUT2 as PC firmware leaves it
  EXPECT_EQ(in(kLsr), 0x60);  // THRE | TEMT
  EXPECT_EQ(in(kMsr), 0xb0);  // DCD | DSR | CTS, no deltas
  EXPECT_EQ(in(kScr), 0x00);
  EXPECT_TRUE(irq.levels.empty());
}

TEST_F(UartTest, DivisorLatchIsBehindDlab) {
  out(kLcr, 0x83);
  EXPECT_EQ(in(kRbr), 0x0c);  // DLL reset value: 9600 baud
  out(kRbr, 0x01);
  out(kIer, 0x02);
  EXPECT_EQ(in(kRbr), 0x01);
  EXPECT_EQ(in(kIer), 0x02);
  EXPECT_TRUE(sent.empty());  // a DLL write is not a transmission
  out(kLcr, 0x03);
  EXPECT_EQ(in(kIer), 0x00);  // IER untouched by the DLM write
  EXPECT_EQ(in(kLcr), 0x03);
  out(kLcr, 0x83);
  EXPECT_EQ(in(kIer), 0x02);  // DLM kept its value
}

TEST_F(UartTest, WideAccessReachesConsecutiveRegisters) {
  out(kLcr, 0x80);
  const uint8_t divisor[2] = {0x34, 0x12};
  uart.write(kRbr, divisor);
  uint8_t back[2] = {};
  uart.read(kRbr, back);
  EXPECT_EQ(back[0], 0x34);
  EXPECT_EQ(back[1], 0x12);
  uint8_t beyond[2] = {};
  uart.read(7, beyond);  // the second byte is past the device: reads as open bus
  EXPECT_EQ(beyond[1], 0xff);
}

TEST_F(UartTest, TransmitGoesToSink) {
  out(kRbr, 'h');
  out(kRbr, 'i');
  EXPECT_EQ(std::string(sent.begin(), sent.end()), "hi");
  EXPECT_EQ(in(kLsr)&0x60, 0x60);
}

TEST_F(UartTest, IerKeepsLowNibbleOnly) {
  out(kIer, 0xff);
  EXPECT_EQ(in(kIer), 0x0f);
}

TEST_F(UartTest, ScratchRegister) {
  out(kScr, 0x5a);
  EXPECT_EQ(in(kScr), 0x5a);
  out(kScr, 0xa5);
  EXPECT_EQ(in(kScr), 0xa5);
}

TEST_F(UartTest, WithoutFifoHoldsOneByte) {
  EXPECT_TRUE(uart.can_receive());
  EXPECT_EQ(feed("ab"), 1u);
  EXPECT_FALSE(uart.can_receive());
  EXPECT_EQ(in(kLsr)&0x01, 0x01);
  EXPECT_EQ(in(kRbr), 'a');
  EXPECT_EQ(in(kLsr)&0x01, 0x00);
  EXPECT_EQ(feed("b"), 1u);
  EXPECT_EQ(in(kRbr), 'b');
}

TEST_F(UartTest, FifoFillsToSixteenAndDrainsInOrder) {
  out(kIir, 0x01);  // FCR: enable FIFOs
  EXPECT_EQ(in(kIir)&0xc0, 0xc0);
  const std::string input = "0123456789abcdefXYZ";
  EXPECT_EQ(feed(input), 16u);
  EXPECT_FALSE(uart.can_receive());
  EXPECT_EQ(feed("X"), 0u);
  EXPECT_EQ(in(kLsr)&0x03, 0x01);  // data ready, no overrun: the host kept the rest
  std::string got;
  while (in(kLsr)&0x01) got.push_back(static_cast<char>(in(kRbr)));
  EXPECT_EQ(got, input.substr(0, 16));
  EXPECT_TRUE(uart.can_receive());
}

TEST_F(UartTest, FifoResetBits) {
  out(kIir, 0x01);
  feed("abc");
  out(kIir, 0x03);  // enable + clear receive FIFO
  EXPECT_EQ(in(kLsr)&0x01, 0x00);
  feed("abc");
  out(kIir, 0x00);  // disabling FIFOs clears them too
  EXPECT_EQ(in(kLsr)&0x01, 0x00);
  EXPECT_EQ(in(kIir)&0xc0, 0x00);
}

TEST_F(UartTest, LoopbackOverrunSetsOe) {
  out(kIir, 0x01);
  out(kMcr, 0x10);  // loopback
  for (int i = 0; i < 17; ++i) out(kRbr, static_cast<uint8_t>('A' + i));
  EXPECT_TRUE(sent.empty());  // nothing leaves the chip in loopback
  EXPECT_EQ(feed("z"), 0u);   // the serial input is disconnected in loopback
  const uint8_t lsr = in(kLsr);
  EXPECT_EQ(lsr & 0x03, 0x03);  // DR | OE
  EXPECT_EQ(in(kLsr)&0x02, 0);  // OE cleared by reading LSR
  std::string got;
  while (in(kLsr)&0x01) got.push_back(static_cast<char>(in(kRbr)));
  EXPECT_EQ(got, "ABCDEFGHIJKLMNOP");  // the 17th character was lost
}

TEST_F(UartTest, LoopbackModemLines) {
  out(kMcr, 0x10);                   // loopback, all outputs off: the inputs all drop
  EXPECT_EQ(in(kMsr), 0x0b);         // DDCD | DDSR | DCTS, no inputs
  out(kMcr, 0x10 | 0x02 | 0x08);     // RTS, OUT2
  EXPECT_EQ(in(kMsr), 0x90 | 0x09);  // DCD | CTS with their deltas
  out(kMcr, 0x10 | 0x04);            // OUT1 -> RI
  EXPECT_EQ(in(kMsr)&0xf0, 0x40);
  out(kMcr, 0x10);  // RI trailing edge
  EXPECT_EQ(in(kMsr)&0x04, 0x04);
}

TEST_F(UartTest, InterruptPriorityOrder) {
  out(kIir, 0x01);
  out(kMcr, 0x18);  // loopback with OUT2 (to produce line and modem events)
  out(kIer, 0x0f);
  for (int i = 0; i < 17; ++i) out(kRbr, 'x');  // data + overrun
  EXPECT_EQ(in(kIir)&0x0f, 0x06);               // line status first
  in(kLsr);
  EXPECT_EQ(in(kIir)&0x0f, 0x04);  // FIFO at/above the trigger level (1)
  while (in(kLsr)&0x01) in(kRbr);
  EXPECT_EQ(in(kIir)&0x0f, 0x02);  // THR empty (reading IIR clears it)
  EXPECT_EQ(in(kIir)&0x0f, 0x00);  // modem status (loopback changed the inputs)
  in(kMsr);
  EXPECT_EQ(in(kIir), 0xc1);
}

TEST_F(UartTest, TriggerLevelAndTimeout) {
  out(kIir, 0x81);  // FIFO, trigger 8
  out(kIer, 0x01);
  feed("abc");
  EXPECT_EQ(in(kIir)&0x0f, 0x0c);  // below trigger: character timeout
  feed("defgh");
  EXPECT_EQ(in(kIir)&0x0f, 0x04);  // reached the trigger level
}

TEST_F(UartTest, ThreInterrupt) {
  out(kIer, 0x02);  // enabling with an empty THR raises it at once
  EXPECT_EQ(in(kIir), 0x02);
  EXPECT_EQ(in(kIir), 0x01);  // the IIR read acknowledged it
  out(kIer, 0x02);            // no 0->1 transition: stays quiet
  EXPECT_EQ(in(kIir), 0x01);
  out(kIer, 0x00);
  out(kIer, 0x02);  // re-enabling raises it again (Linux's THRE test)
  EXPECT_EQ(in(kIir), 0x02);
  out(kRbr, 'x');  // a transmission empties the THR again
  EXPECT_EQ(in(kIir), 0x02);
  EXPECT_EQ(in(kIir), 0x01);
}

TEST_F(UartTest, IrqFollowsConditionGatedByOut2) {
  out(kMcr, 0x00);  // OUT2 off
  out(kIer, 0x01);
  feed("a");
  EXPECT_FALSE(irq.level());  // pending but gated
  EXPECT_EQ(in(kIir), 0x04);
  out(kMcr, 0x08);
  EXPECT_TRUE(irq.level());
  EXPECT_EQ(irq.last_gsi, kCom1Irq);
  in(kRbr);
  EXPECT_FALSE(irq.level());  // the condition went away
  feed("b");
  EXPECT_TRUE(irq.level());
  out(kIer, 0x00);
  EXPECT_FALSE(irq.level());
  // Only changes reach the line: no repeated levels.
  for (size_t i = 1; i < irq.levels.size(); ++i) EXPECT_NE(irq.levels[i], irq.levels[i - 1]);
}

TEST_F(UartTest, LoopbackDisconnectsIrq) {
  out(kMcr, 0x18);
  out(kIer, 0x01);
  out(kRbr, 'x');
  EXPECT_EQ(in(kIir), 0x04);
  EXPECT_FALSE(irq.level());
  out(kMcr, 0x08);
  EXPECT_TRUE(irq.level());
  EXPECT_EQ(in(kRbr), 'x');
}

TEST_F(UartTest, ConcurrentReceiveAndDrainKeepsOrder) {
  out(kIir, 0x01);
  out(kIer, 0x01);
  std::string input;
  for (int i = 0; i < 20000; ++i) input.push_back(static_cast<char>('a' + i % 26));
  std::thread host([&] {
    std::string_view rest = input;
    while (!rest.empty()) rest.remove_prefix(feed(rest));
  });
  std::string got;
  while (got.size() < input.size()) {
    if (in(kLsr)&0x01) got.push_back(static_cast<char>(in(kRbr)));
  }
  host.join();
  EXPECT_EQ(got, input);
  EXPECT_EQ(in(kLsr)&0x02, 0);  // receive() never overruns
  EXPECT_FALSE(irq.level());
}

}  // namespace
}  // namespace vessel::devices
