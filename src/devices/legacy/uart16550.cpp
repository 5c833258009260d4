// Register-level model of the NS16550A. Bit names follow the data sheet (PC16550D, "Register
// Summary" table); the PC wiring (IRQ gated by OUT2) follows the IBM PC/AT serial adapter.
#include "devices/legacy/uart16550.hpp"

#include <algorithm>

namespace vessel::devices {
namespace {

// Register offsets (DLAB = LCR bit 7 selects DLL/DLM at offsets 0 and 1).
enum : unsigned {
  kRbrThr = 0,
  kIer = 1,
  kIirFcr = 2,
  kLcr = 3,
  kMcr = 4,
  kLsr = 5,
  kMsr = 6,
  kScr = 7
};
constexpr unsigned kRegisterCount = 8;

constexpr uint8_t kIerRxData = 0x01, kIerThre = 0x02, kIerLineStatus = 0x04, kIerModem = 0x08;
constexpr uint8_t kIerMask = 0x0f;  // bits 4-7 are always zero on a 16550A

constexpr uint8_t kIirNone = 0x01, kIirLineStatus = 0x06, kIirRxData = 0x04, kIirTimeout = 0x0c,
                  kIirThre = 0x02, kIirModem = 0x00, kIirFifoEnabled = 0xc0;

constexpr uint8_t kFcrEnable = 0x01, kFcrClearRx = 0x02, kFcrDmaMode = 0x08, kFcrTriggerMask = 0xc0;

constexpr uint8_t kLcrDlab = 0x80;

constexpr uint8_t kMcrDtr = 0x01, kMcrRts = 0x02, kMcrOut1 = 0x04, kMcrOut2 = 0x08, kMcrLoop = 0x10,
                  kMcrMask = 0x1f;

constexpr uint8_t kLsrDataReady = 0x01, kLsrOverrun = 0x02, kLsrParity = 0x04, kLsrFraming = 0x08,
                  kLsrBreak = 0x10, kLsrThre = 0x20, kLsrTemt = 0x40;
constexpr uint8_t kLsrErrors = kLsrOverrun | kLsrParity | kLsrFraming | kLsrBreak;

constexpr uint8_t kMsrDcts = 0x01, kMsrDdsr = 0x02, kMsrTeri = 0x04, kMsrDdcd = 0x08,
                  kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
// What the host side presents on the modem inputs: a connected terminal, ready to talk.
constexpr uint8_t kHostModemInputs = kMsrDcd | kMsrDsr | kMsrCts;

constexpr size_t kFifoSize = 16;

// FCR bits 7:6 select the receiver trigger level: 1, 4, 8 or 14 bytes.
size_t trigger_level(uint8_t fcr) {
  constexpr size_t kLevels[] = {1, 4, 8, 14};
  return kLevels[(fcr & kFcrTriggerMask) >> 6];
}

}  // namespace

Uart16550::Uart16550(bus::IrqLine irq, TxSink tx) : irq_(irq), tx_(std::move(tx)) {}

void Uart16550::read(uint64_t offset, std::span<uint8_t> data) {
  {
    std::lock_guard lock(mutex_);
    // An 8-bit ISA device: a wider access reaches consecutive registers, one byte each.
    for (size_t i = 0; i < data.size(); ++i) {
      const uint64_t reg = offset + i;
      data[i] = reg < kRegisterCount ? read_register(static_cast<unsigned>(reg)) : 0xff;
    }
  }
  sync_irq();  // reading IIR, LSR, MSR or RBR can clear an interrupt
}

void Uart16550::write(uint64_t offset, std::span<const uint8_t> data) {
  {
    std::lock_guard order(tx_mutex_);
    TxBytes tx;
    {
      std::lock_guard lock(mutex_);
      for (size_t i = 0; i < data.size(); ++i) {
        const uint64_t reg = offset + i;
        if (reg < kRegisterCount) write_register(static_cast<unsigned>(reg), data[i], tx);
      }
    }
    if (tx.size > 0 && tx_) tx_(std::span<const uint8_t>(tx.bytes.data(), tx.size));
    bytes_written_.fetch_add(tx.size, std::memory_order_relaxed);
  }
  sync_irq();
}

size_t Uart16550::receive(std::span<const uint8_t> bytes) {
  size_t taken = 0;
  {
    std::lock_guard lock(mutex_);
    // In loopback the receiver is disconnected from the serial input (data sheet, MCR bit 4).
    if (mcr_ & kMcrLoop) return 0;
    taken = std::min(bytes.size(), rx_capacity() - rx_count_);
    for (size_t i = 0; i < taken; ++i) push_rx(bytes[i]);
  }
  if (taken > 0) sync_irq();
  return taken;
}

bool Uart16550::can_receive() const {
  std::lock_guard lock(mutex_);
  return !(mcr_ & kMcrLoop) && rx_count_ < rx_capacity();
}

uint8_t Uart16550::read_register(unsigned reg) {
  const bool dlab = lcr_ & kLcrDlab;
  switch (reg) {
    case kRbrThr:
      return dlab ? dll_ : pop_rx();
    case kIer:
      return dlab ? dlm_ : ier_;
    case kIirFcr: {
      const uint8_t id = interrupt_id();
      // Reading IIR while THRE is the source is what acknowledges it (data sheet, Table IV).
      if (id == kIirThre) thre_pending_ = false;
      return id | ((fcr_ & kFcrEnable) ? kIirFifoEnabled : 0);
    }
    case kLcr:
      return lcr_;
    case kMcr:
      return mcr_;
    case kLsr:
      return read_lsr();
    case kMsr:
      return read_msr();
    default:
      return scr_;
  }
}

void Uart16550::write_register(unsigned reg, uint8_t value, TxBytes& tx) {
  const bool dlab = lcr_ & kLcrDlab;
  switch (reg) {
    case kRbrThr:
      if (dlab) {
        dll_ = value;
        return;
      }
      // Writing THR acknowledges a THRE interrupt; the byte leaves at once (to the receiver in
      // loopback), so the holding register is empty again and THRE is raised anew.
      if (mcr_ & kMcrLoop) {
        push_rx(value);
      } else {
        tx.bytes[tx.size++] = value;
      }
      thre_pending_ = true;
      return;
    case kIer:
      if (dlab) {
        dlm_ = value;
      } else {
        write_ier(value);
      }
      return;
    case kIirFcr:
      write_fcr(value);
      return;
    case kLcr:
      lcr_ = value;
      return;
    case kMcr:
      write_mcr(value);
      return;
    case kLsr:
    case kMsr:
      return;  // writable only "for factory test" on the real part: ignored
    default:
      scr_ = value;
      return;
  }
}

void Uart16550::write_ier(uint8_t value) {
  const uint8_t old = ier_;
  ier_ = value & kIerMask;
  // Enabling the THRE interrupt while the holding register is empty raises it at once; Linux's
  // 8250 driver tests exactly this at start-up (and marks the port buggy otherwise).
  if (!(old & kIerThre) && (ier_ & kIerThre)) thre_pending_ = true;
}

void Uart16550::write_fcr(uint8_t value) {
  const bool was_enabled = fcr_ & kFcrEnable;
  const bool enable = value & kFcrEnable;
  // Changing FCR0 clears both FIFOs; the other bits are only programmed while FCR0 is set.
  if (was_enabled != enable || (enable && (value & kFcrClearRx))) rx_head_ = rx_count_ = 0;
  fcr_ = enable ? value & (kFcrEnable | kFcrDmaMode | kFcrTriggerMask) : 0;
  // FCR bit 2 (clear transmit FIFO) has nothing to do: transmission is instantaneous.
}

void Uart16550::write_mcr(uint8_t value) {
  const uint8_t before = modem_inputs();
  mcr_ = value & kMcrMask;
  const uint8_t after = modem_inputs();
  const uint8_t changed = before ^ after;
  if (changed & kMsrCts) msr_deltas_ |= kMsrDcts;
  if (changed & kMsrDsr) msr_deltas_ |= kMsrDdsr;
  if (changed & kMsrDcd) msr_deltas_ |= kMsrDdcd;
  if ((before & kMsrRi) && !(after & kMsrRi)) msr_deltas_ |= kMsrTeri;  // trailing edge only
}

void Uart16550::push_rx(uint8_t byte) {
  if (rx_count_ < rx_capacity()) {
    rx_fifo_[(rx_head_ + rx_count_) % kFifoSize] = byte;
    ++rx_count_;
    return;
  }
  lsr_errors_ |= kLsrOverrun;
  // Without FIFOs the new character overwrites the holding register; with FIFOs the character
  // in the shift register is lost and the FIFO is kept (data sheet, LSR bit 1).
  if (!(fcr_ & kFcrEnable)) rx_fifo_[rx_head_] = byte;
}

uint8_t Uart16550::pop_rx() {
  if (rx_count_ == 0) return rbr_;
  rbr_ = rx_fifo_[rx_head_];
  rx_head_ = (rx_head_ + 1) % kFifoSize;
  bytes_read_.fetch_add(1, std::memory_order_relaxed);
  --rx_count_;
  return rbr_;
}

size_t Uart16550::rx_capacity() const {
  return (fcr_ & kFcrEnable) ? kFifoSize : 1;
}

uint8_t Uart16550::read_lsr() {
  uint8_t value = lsr_errors_ | kLsrThre | kLsrTemt;
  if (rx_count_ > 0) value |= kLsrDataReady;
  // LSR bit 7 (error in receiver FIFO) stays 0: no parity, framing or break errors are produced.
  lsr_errors_ = 0;
  return value;
}

uint8_t Uart16550::read_msr() {
  const uint8_t value = msr_deltas_ | modem_inputs();
  msr_deltas_ = 0;
  return value;
}

uint8_t Uart16550::modem_inputs() const {
  if (!(mcr_ & kMcrLoop)) return kHostModemInputs;
  // Loopback ties the outputs to the inputs: DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD.
  uint8_t value = 0;
  if (mcr_ & kMcrDtr) value |= kMsrDsr;
  if (mcr_ & kMcrRts) value |= kMsrCts;
  if (mcr_ & kMcrOut1) value |= kMsrRi;
  if (mcr_ & kMcrOut2) value |= kMsrDcd;
  return value;
}

uint8_t Uart16550::interrupt_id() const {
  // Priority order of data sheet Table IV: line status, received data (or character timeout),
  // THR empty, modem status.
  if ((ier_ & kIerLineStatus) && (lsr_errors_ & kLsrErrors)) return kIirLineStatus;
  if ((ier_ & kIerRxData) && rx_count_ > 0) {
    // Below the trigger level the real part reports a character timeout after four character
    // times without FIFO activity; here that time has always passed.
    const bool fifo = fcr_ & kFcrEnable;
    return !fifo || rx_count_ >= trigger_level(fcr_) ? kIirRxData : kIirTimeout;
  }
  if ((ier_ & kIerThre) && thre_pending_) return kIirThre;
  if ((ier_ & kIerModem) && msr_deltas_) return kIirModem;
  return kIirNone;
}

bool Uart16550::irq_pin() const {
  // On a PC the INTR output reaches the interrupt controller only through a buffer enabled by
  // the (inverted) OUT2 pin; loopback forces OUT2 inactive, which disconnects it as well.
  return interrupt_id() != kIirNone && (mcr_ & kMcrOut2) && !(mcr_ & kMcrLoop);
}

void Uart16550::sync_irq() {
  std::lock_guard order(irq_mutex_);
  bool level = false;
  {
    std::lock_guard lock(mutex_);
    level = irq_pin();
  }
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_.set_level(level);
}

Result<void> Uart16550::save_state(bus::StateWriter& out) const {
  std::scoped_lock lock(irq_mutex_, mutex_);
  out(rx_fifo_, rx_head_, rx_count_, rbr_, ier_, fcr_, lcr_, mcr_, scr_, lsr_errors_, msr_deltas_,
      dll_, dlm_, thre_pending_, irq_level_);
  return {};
}

Result<void> Uart16550::load_state(bus::StateReader& in) {
  std::scoped_lock lock(irq_mutex_, mutex_);
  in(rx_fifo_, rx_head_, rx_count_, rbr_, ier_, fcr_, lcr_, mcr_, scr_, lsr_errors_, msr_deltas_,
     dll_, dlm_, thre_pending_, irq_level_);
  if (rx_head_ >= rx_fifo_.size() || rx_count_ > rx_fifo_.size())
    in.fail_with("uart: receive FIFO position out of range");
  return in.finish();
}

}  // namespace vessel::devices
