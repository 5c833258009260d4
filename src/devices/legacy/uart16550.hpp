// A 16550A UART (NS16550A data sheet; the COM1 of a PC at 0x3f8, IRQ 4). All registers are
// modelled: RBR/THR, IER, IIR/FCR, LCR, MCR, LSR, MSR, SCR and the divisor latch; the 16-byte
// receive FIFO with its trigger levels and character timeout indication; interrupt
// identification by priority; loopback mode. Transmission is instantaneous (the transmitter is
// always empty again by the time the guest looks).
//
// Thread safety: register accesses come from vCPU threads and receive() from the console's
// input thread; one mutex guards the state. The transmit sink and the IRQ line are called with
// the mutex released.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>

#include "bus/device_state.hpp"
#include "bus/io_device.hpp"
#include "bus/irq.hpp"

namespace vessel::devices {

inline constexpr uint16_t kCom1Port = 0x3f8;
inline constexpr uint32_t kCom1Irq = 4;

class Uart16550 final : public bus::IoDevice, public bus::Stateful {
 public:
  // Snapshots (bus/device_state.hpp).
  Result<void> save_state(bus::StateWriter& out) const override;
  Result<void> load_state(bus::StateReader& in) override;
  // Bytes the guest has read from the receiver / written to the transmitter (metrics).
  uint64_t bytes_read() const { return bytes_read_.load(std::memory_order_relaxed); }
  uint64_t bytes_written() const { return bytes_written_.load(std::memory_order_relaxed); }
  using TxSink = std::function<void(std::span<const uint8_t>)>;

  Uart16550(bus::IrqLine irq, TxSink tx);

  std::string_view name() const override { return "uart16550"; }
  void read(uint64_t offset, std::span<uint8_t> data) override;
  void write(uint64_t offset, std::span<const uint8_t> data) override;

  // Host -> guest bytes. Takes as many as fit in the receive FIFO and returns that count;
  // the caller keeps the rest and offers them again later (nothing is dropped).
  size_t receive(std::span<const uint8_t> bytes);
  // Whether the receive FIFO has room (for the console input loop's back-pressure).
  bool can_receive() const;

 private:
  // At most one transmitted byte per byte written; an access is at most 8 bytes wide.
  struct TxBytes {
    std::array<uint8_t, 8> bytes{};
    size_t size = 0;
  };

  uint8_t read_register(unsigned reg);
  void write_register(unsigned reg, uint8_t value, TxBytes& tx);
  void write_ier(uint8_t value);
  void write_fcr(uint8_t value);
  void write_mcr(uint8_t value);
  void push_rx(uint8_t byte);  // one byte into the receiver; OE when it is full
  uint8_t pop_rx();
  size_t rx_capacity() const;
  uint8_t read_lsr();
  uint8_t read_msr();
  uint8_t modem_inputs() const;
  uint8_t interrupt_id() const;  // IIR without the FIFO bits
  bool irq_pin() const;
  void sync_irq();  // brings the IRQ line to the current pin level (state mutex not held)

  bus::IrqLine irq_;
  TxSink tx_;
  std::mutex tx_mutex_;           // keeps transmitted bytes in the order the guest wrote them
  mutable std::mutex irq_mutex_;  // keeps IRQ level changes in order (last one wins)
  mutable std::mutex mutex_;      // the register state below

  std::array<uint8_t, 16> rx_fifo_{};
  size_t rx_head_ = 0, rx_count_ = 0;
  uint8_t rbr_ = 0;  // last byte read (what RBR returns when the FIFO is empty)
  uint8_t ier_ = 0, fcr_ = 0, lcr_ = 0, mcr_ = 0x08, scr_ = 0;
  uint8_t lsr_errors_ = 0;        // OE/PE/FE/BI: set by the receiver, cleared by reading LSR
  uint8_t msr_deltas_ = 0;        // DCTS/DDSR/TERI/DDCD: cleared by reading MSR
  uint8_t dll_ = 0x0c, dlm_ = 0;  // 9600 baud
  bool thre_pending_ = false;     // THRE interrupt (cleared by reading IIR or writing THR)
  bool irq_level_ = false;        // level last given to irq_ (guarded by irq_mutex_)
  std::atomic<uint64_t> bytes_read_{0}, bytes_written_{0};  // for the metrics
};

}  // namespace vessel::devices
