#include "devices/legacy/pic8259.hpp"

namespace vessel::devices {

namespace {
constexpr uint8_t kIcw1 = 0x10;      // A0=0, D4=1
constexpr uint8_t kOcw3 = 0x08;      // A0=0, D4=0, D3=1
constexpr uint8_t kIcw1Ic4 = 0x01;   // ICW4 needed
constexpr uint8_t kIcw1Sngl = 0x02;  // single PIC, no ICW3
constexpr uint8_t kIcw1Ltim = 0x08;  // level-triggered inputs
constexpr uint8_t kIcw4Aeoi = 0x02;
constexpr uint8_t kIcw4Sfnm = 0x10;
constexpr int kCascadeIrq = 2;
}  // namespace

void Pic8259::read(uint64_t port, std::span<uint8_t> data) {
  bool high;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size(); ++i) data[i] = read_port(static_cast<uint16_t>(port + i));
    high = output();
  }
  notify(high);  // a poll acknowledges, which may raise the next request
}

void Pic8259::write(uint64_t port, std::span<const uint8_t> data) {
  bool high;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size(); ++i) write_port(static_cast<uint16_t>(port + i), data[i]);
    sync_cascade();
    high = output();
  }
  notify(high);
}

uint8_t Pic8259::read_port(uint16_t port) {
  if (port == kElcrPort || port == kElcrPort + 1) return chips_[port - kElcrPort].elcr;
  if ((port & ~1) != kMasterPort && (port & ~1) != kSlavePort) return 0xff;
  const bool master = (port & ~1) == kMasterPort;
  Chip& c = chips_[master ? 0 : 1];
  if (port & 1) return c.imr;
  // Data sheet, "Poll command": the next read after OCW3 with P=1 is the poll word.
  if (c.poll) return poll(c, master);
  return c.read_isr ? c.isr : c.irr;
}

void Pic8259::write_port(uint16_t port, uint8_t value) {
  if (port == kElcrPort || port == kElcrPort + 1) {
    Chip& c = chips_[port - kElcrPort];
    c.elcr = value & c.elcr_mask;
    // A line switched to level mode requests exactly while it is high.
    for (int irq = 0; irq < 8; ++irq) {
      if (is_level(c, irq)) c.irr = (c.irr & ~(1u << irq)) | (c.lines & (1u << irq));
    }
    return;
  }
  if ((port & ~1) != kMasterPort && (port & ~1) != kSlavePort) return;
  Chip& c = chips_[(port & ~1) == kMasterPort ? 0 : 1];
  if (port & 1) {
    write_data(c, value);
  } else {
    write_command(c, value);
  }
}

void Pic8259::write_command(Chip& c, uint8_t value) {
  if (value & kIcw1) {
    // ICW1 starts initialisation (data sheet, "Initialization command words"): the edge sense
    // circuit resets, IMR clears, IR7 gets the lowest priority, special mask mode clears and
    // status reads select IRR; without IC4, the ICW4 functions are all zero.
    c.init_step = 2;
    c.need_icw4 = value & kIcw1Ic4;
    c.single = value & kIcw1Sngl;
    c.level_all = value & kIcw1Ltim;
    c.imr = c.isr = 0;
    c.irr = 0;
    for (int irq = 0; irq < 8; ++irq) {
      if (is_level(c, irq)) c.irr |= c.lines & (1u << irq);
    }
    c.lowest = 7;
    c.special_mask = c.read_isr = c.poll = false;
    c.auto_eoi = c.rotate_in_aeoi = c.sfnm = false;
    return;
  }
  if (value & kOcw3) {
    if (value & 0x04) c.poll = true;
    if (value & 0x02) c.read_isr = value & 0x01;
    if (value & 0x40) c.special_mask = value & 0x20;
    return;
  }
  write_ocw2(c, value);
}

void Pic8259::write_ocw2(Chip& c, uint8_t value) {
  const int level = value & 7;
  const int current = highest(c, c.isr);  // what a non-specific EOI ends
  switch (value >> 5) {
    case 1:  // non-specific EOI
      if (current >= 0) c.isr &= ~(1u << current);
      break;
    case 3:  // specific EOI
      c.isr &= ~(1u << level);
      break;
    case 5:  // rotate on non-specific EOI
      if (current >= 0) {
        c.isr &= ~(1u << current);
        c.lowest = static_cast<uint8_t>(current);
      }
      break;
    case 7:  // rotate on specific EOI
      c.isr &= ~(1u << level);
      c.lowest = static_cast<uint8_t>(level);
      break;
    case 6:  // set priority: `level` becomes the lowest
      c.lowest = static_cast<uint8_t>(level);
      break;
    case 4:  // set rotate in auto-EOI mode
    case 0:  // clear it
      c.rotate_in_aeoi = (value >> 5) == 4;
      break;
    default:  // 2: no operation
      break;
  }
}

void Pic8259::write_data(Chip& c, uint8_t value) {
  switch (c.init_step) {
    case 2:  // ICW2: vector base (T7-T3)
      c.vector_base = value & 0xf8;
      c.init_step = c.single ? (c.need_icw4 ? 4 : 0) : 3;
      break;
    case 3:  // ICW3: cascade wiring, fixed on a PC (slave on master IR2, slave ID 2)
      c.init_step = c.need_icw4 ? 4 : 0;
      break;
    case 4:  // ICW4: AEOI and SFNM matter; uPM (8086 mode) and buffered mode do not
      c.auto_eoi = value & kIcw4Aeoi;
      c.sfnm = value & kIcw4Sfnm;
      c.init_step = 0;
      break;
    default:  // OCW1
      c.imr = value;
      break;
  }
}

int Pic8259::highest(const Chip& c, uint8_t bits) const {
  for (int i = 1; i <= 8; ++i) {
    const int irq = (c.lowest + i) & 7;
    if (bits & (1u << irq)) return irq;
  }
  return -1;
}

int Pic8259::pending_irq(const Chip& c, bool master) const {
  const int irq = highest(c, c.irr & ~c.imr);
  if (irq < 0) return -1;
  uint8_t in_service = c.isr;
  // Special mask mode: masked in-service levels do not inhibit lower priorities.
  if (c.special_mask) in_service &= ~c.imr;
  // Special fully nested mode: a slave request may nest over the slave already in service.
  if (master && c.sfnm) in_service &= ~(1u << kCascadeIrq);
  const int current = highest(c, in_service);
  if (current < 0) return irq;
  const auto prio = [&](int n) { return (n - c.lowest - 1) & 7; };  // 0 = highest
  return prio(irq) < prio(current) ? irq : -1;
}

void Pic8259::ack_chip(Chip& c, int irq, bool master) {
  const uint8_t bit = static_cast<uint8_t>(1u << irq);
  // Edge requests are consumed by the acknowledge; level ones (and the cascade input) stay
  // while the line is high and the ISR bit holds them off until the EOI.
  if (!is_level(c, irq) && !(master && irq == kCascadeIrq)) c.irr &= ~bit;
  if (c.auto_eoi) {
    if (c.rotate_in_aeoi) c.lowest = static_cast<uint8_t>(irq);
  } else {
    c.isr |= bit;
  }
}

uint8_t Pic8259::poll(Chip& c, bool master) {
  c.poll = false;
  const int irq = pending_irq(c, master);
  if (irq < 0) return 0;
  ack_chip(c, irq, master);
  sync_cascade();
  return static_cast<uint8_t>(0x80 | irq);
}

void Pic8259::sync_cascade() {
  const bool slave_out = pending_irq(chips_[1], false) >= 0;
  Chip& m = chips_[0];
  const uint8_t bit = 1u << kCascadeIrq;
  m.lines = slave_out ? (m.lines | bit) : (m.lines & ~bit);
  m.irr = slave_out ? (m.irr | bit) : (m.irr & ~bit);
}

void Pic8259::set_irq_level(uint32_t irq, bool level) {
  if (irq >= 16 || irq == kCascadeIrq) return;
  bool high;
  {
    std::lock_guard lock(mutex_);
    Chip& c = chips_[irq / 8];
    const int n = static_cast<int>(irq % 8);
    const uint8_t bit = static_cast<uint8_t>(1u << n);
    if (is_level(c, n)) {
      c.irr = level ? (c.irr | bit) : (c.irr & ~bit);
    } else if (level && !(c.lines & bit)) {
      c.irr |= bit;  // rising edge; a falling one leaves the latched request alone
    }
    c.lines = level ? (c.lines | bit) : (c.lines & ~bit);
    sync_cascade();
    high = output();
  }
  notify(high);
}

bool Pic8259::interrupt_pending() {
  std::lock_guard lock(mutex_);
  return output();
}

std::optional<uint8_t> Pic8259::acknowledge() {
  bool high;
  uint8_t vector;
  {
    std::lock_guard lock(mutex_);
    Chip& m = chips_[0];
    Chip& s = chips_[1];
    const int irq = pending_irq(m, true);
    if (irq < 0) {
      // The request went away before INTA: the 8259A answers with IR7 (spurious, no ISR bit).
      return static_cast<uint8_t>(m.vector_base + 7);
    }
    ack_chip(m, irq, true);
    if (irq == kCascadeIrq) {
      const int slave_irq = pending_irq(s, false);
      if (slave_irq < 0) {
        vector = static_cast<uint8_t>(s.vector_base + 7);  // spurious IRQ 15
      } else {
        ack_chip(s, slave_irq, false);
        vector = static_cast<uint8_t>(s.vector_base + slave_irq);
      }
    } else {
      vector = static_cast<uint8_t>(m.vector_base + irq);
    }
    sync_cascade();
    high = output();
  }
  notify(high);
  return vector;
}

void Pic8259::notify(bool high) {
  if (high && waker_) waker_->wake();
}

uint8_t Pic8259::irr(int chip) const {
  std::lock_guard lock(mutex_);
  return chips_[chip & 1].irr;
}
uint8_t Pic8259::isr(int chip) const {
  std::lock_guard lock(mutex_);
  return chips_[chip & 1].isr;
}
uint8_t Pic8259::imr(int chip) const {
  std::lock_guard lock(mutex_);
  return chips_[chip & 1].imr;
}

Result<void> Pic8259::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(chips_);
  return {};
}

Result<void> Pic8259::load_state(bus::StateReader& in) {
  std::lock_guard lock(mutex_);
  in(chips_);
  for (const Chip& c : chips_)
    if (c.lowest > 7) in.fail_with("pic: priority rotation out of range");
  return in.finish();
}

}  // namespace vessel::devices
