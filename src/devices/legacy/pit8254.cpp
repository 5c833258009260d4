#include "devices/legacy/pit8254.hpp"

namespace vessel::devices {

namespace {
constexpr uint8_t kPortBGate2 = 0x01;
constexpr uint8_t kPortBWritable = 0x0f;  // gate 2, speaker data, parity/IOCHK enables
constexpr uint8_t kPortBOut2 = 0x20;
constexpr uint8_t kPortBRefresh = 0x10;
constexpr int64_t kRefreshHalfPeriodNs = 15'085;  // the AT refresh request toggles every 15 us
}  // namespace

Pit8254::Pit8254(TimerService& timers, bus::IrqLine irq0)
    : timers_(timers), irq0_(irq0), timer_(timers.add([this] { on_timer(); })) {
  channels_[2].gate = false;  // port 0x61 bit 0 starts clear; channels 0 and 1 are tied high
}

Pit8254::~Pit8254() {
  timers_.remove(timer_);
}

void Pit8254::read(uint64_t port, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  const int64_t now = timers_.clock().now_ns();
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = read_port(static_cast<uint16_t>(port + i), now);
}

void Pit8254::write(uint64_t port, std::span<const uint8_t> data) {
  std::lock_guard lock(mutex_);
  const int64_t now = timers_.clock().now_ns();
  for (size_t i = 0; i < data.size(); ++i) {
    write_port(static_cast<uint16_t>(port + i), data[i], now);
  }
}

uint8_t Pit8254::read_port(uint16_t port, int64_t now) {
  if (port == kPortB) {
    const bool refresh = (now / kRefreshHalfPeriodNs) & 1;
    return static_cast<uint8_t>(port_b_ | (out(channels_[2], now) ? kPortBOut2 : 0) |
                                (refresh ? kPortBRefresh : 0));
  }
  if (port >= kBasePort && port < kControlPort)
    return read_counter(channels_[port - kBasePort], now);
  return 0xff;  // the control word register cannot be read
}

void Pit8254::write_port(uint16_t port, uint8_t value, int64_t now) {
  if (port == kPortB) {
    port_b_ = value & kPortBWritable;
    set_gate(channels_[2], value & kPortBGate2, now);
  } else if (port == kControlPort) {
    write_control(value, now);
  } else if (port >= kBasePort && port < kControlPort) {
    write_count(channels_[port - kBasePort], value, now);
    if (port == kBasePort) schedule_irq(now);
  }
}

void Pit8254::write_control(uint8_t value, int64_t now) {
  const unsigned sc = value >> 6;
  if (sc == 3) return read_back(value, now);
  Channel& c = channels_[sc];
  const uint8_t rw = (value >> 4) & 3;
  if (rw == 0) {  // counter latch command: keeps the first latched value until it is read
    if (!c.count_latched) {
      c.count_latched = true;
      c.latched_count = count(c, now);
      c.latch_msb_next = false;
    }
    return;
  }
  c.access = rw;
  c.mode = (value >> 1) & 7;
  if (c.mode > 5) c.mode -= 4;  // 6 and 7 are aliases of 2 and 3
  c.bcd = value & 1;
  c.loaded = false;  // counting stops until a new count is written
  c.triggered = false;
  c.null_count = true;
  c.write_msb_next = c.read_msb_next = false;
  c.count_latched = c.status_latched = false;
  if (sc == 0) schedule_irq(now);
}

void Pit8254::read_back(uint8_t value, int64_t now) {
  for (int i = 0; i < 3; ++i) {
    if (!(value & (2u << i))) continue;
    Channel& c = channels_[i];
    if (!(value & 0x10) && !c.status_latched) {
      c.status_latched = true;
      c.latched_status = status(c, now);
    }
    if (!(value & 0x20) && !c.count_latched) {
      c.count_latched = true;
      c.latched_count = count(c, now);
      c.latch_msb_next = false;
    }
  }
}

void Pit8254::write_count(Channel& c, uint8_t value, int64_t now) {
  uint32_t n;
  if (c.access == 3) {
    if (!c.write_msb_next) {
      c.write_lsb = value;
      c.write_msb_next = true;
      // Mode 0: writing the first byte stops the count (data sheet, mode 0 description).
      if (c.mode == 0 && c.loaded) {
        c.banked = ticks(c, now);
        c.loaded = false;
      }
      return;
    }
    c.write_msb_next = false;
    n = c.write_lsb | (uint32_t{value} << 8);
  } else {
    n = c.access == 1 ? value : uint32_t{value} << 8;
  }
  c.reload = n == 0 ? 0x10000 : n;
  c.loaded = true;
  c.null_count = false;
  c.start_ns = now;
  c.banked = 0;
  c.triggered = false;
}

uint8_t Pit8254::read_counter(Channel& c, int64_t now) {
  if (c.status_latched) {
    c.status_latched = false;
    return c.latched_status;
  }
  if (c.count_latched) {
    const uint16_t v = c.latched_count;
    if (c.access == 1) {
      c.count_latched = false;
      return static_cast<uint8_t>(v);
    }
    if (c.access == 2) {
      c.count_latched = false;
      return static_cast<uint8_t>(v >> 8);
    }
    if (!c.latch_msb_next) {
      c.latch_msb_next = true;
      return static_cast<uint8_t>(v);
    }
    c.count_latched = false;
    c.latch_msb_next = false;
    return static_cast<uint8_t>(v >> 8);
  }
  const uint16_t v = count(c, now);
  if (c.access == 1) return static_cast<uint8_t>(v);
  if (c.access == 2) return static_cast<uint8_t>(v >> 8);
  c.read_msb_next = !c.read_msb_next;
  return static_cast<uint8_t>(c.read_msb_next ? v : v >> 8);
}

void Pit8254::set_gate(Channel& c, bool gate, int64_t now) {
  if (gate == c.gate) return;
  if (!gate) {
    // Modes 0 and 4 suspend counting while the gate is low; keep what was counted.
    c.banked = ticks(c, now);
  } else {
    c.start_ns = now;
    // Modes 1, 5 trigger and modes 2, 3 restart on the rising edge; 0 and 4 resume.
    if (c.mode == 1 || c.mode == 5) c.triggered = true;
    if (c.mode != 0 && c.mode != 4) c.banked = 0;
  }
  c.gate = gate;
}

uint64_t Pit8254::ticks(const Channel& c, int64_t now) const {
  if (!c.loaded) return c.banked;
  switch (c.mode) {
    case 0:
    case 4:
      return c.banked + (c.gate ? ticks_in(now - c.start_ns, kFrequencyHz) : 0);
    case 1:
    case 5:
      return c.triggered ? ticks_in(now - c.start_ns, kFrequencyHz) : 0;
    default:  // 2, 3: a low gate stops the count, the rising edge reloads it
      return c.gate ? ticks_in(now - c.start_ns, kFrequencyHz) : 0;
  }
}

uint16_t Pit8254::count(const Channel& c, int64_t now) const {
  const uint64_t n = c.reload;
  const uint64_t t = ticks(c, now);
  if (!c.loaded) return static_cast<uint16_t>(n);
  if (c.mode == 2) return static_cast<uint16_t>(n - t % n);
  if (c.mode == 3) {
    // Decrements by two; the first half-period is the longer one for odd counts.
    const uint64_t phase = t % n, high = (n + 1) / 2;
    const uint64_t in_half = phase < high ? phase : phase - high;
    return static_cast<uint16_t>((n & ~uint64_t{1}) - 2 * in_half);
  }
  if ((c.mode == 1 || c.mode == 5) && !c.triggered) return static_cast<uint16_t>(n);
  return static_cast<uint16_t>(n - t);  // wraps through 0xffff after terminal count
}

bool Pit8254::out(const Channel& c, int64_t now) const {
  // Output levels per mode from the data sheet's waveforms: after the control word mode 0
  // starts low, every other mode high.
  if (!c.loaded) return c.mode != 0;
  const uint64_t n = c.reload;
  const uint64_t t = ticks(c, now);
  switch (c.mode) {
    case 0:
      return t >= n;
    case 1:
      return !c.triggered || t >= n;
    case 2:
      return !c.gate || t % n != n - 1;
    case 3:
      return !c.gate || t % n < (n + 1) / 2;
    case 4:
      return t != n;
    default:  // 5
      return !c.triggered || t != n;
  }
}

uint8_t Pit8254::status(const Channel& c, int64_t now) const {
  return static_cast<uint8_t>((out(c, now) ? 0x80 : 0) | (c.null_count ? 0x40 : 0) |
                              (c.access << 4) | (c.mode << 1) | (c.bcd ? 1 : 0));
}

int64_t Pit8254::next_rising_edge(const Channel& c, int64_t now) const {
  if (!c.loaded || !c.gate) return -1;
  const uint64_t n = c.reload;
  const uint64_t t = ticks(c, now);
  uint64_t edge;  // in ticks since start_ns
  switch (c.mode) {
    case 0:  // OUT rises once, at terminal count
      if (t >= n) return -1;
      edge = n;
      break;
    case 4:  // a one-tick low strobe at terminal count; OUT rises after it
      if (t >= n + 1) return -1;
      edge = n + 1;
      break;
    case 2:  // low during the last tick of each period, rising when the count reloads
    case 3:  // high half starts each period
      edge = (t / n + 1) * n;
      break;
    default:  // 1, 5 need a gate edge, which channel 0 (gate tied high) never sees
      return -1;
  }
  return c.start_ns + ns_for_ticks(edge, kFrequencyHz);
}

void Pit8254::schedule_irq(int64_t now) {
  irq_edge_ = next_rising_edge(channels_[0], now);
  if (irq_edge_ >= 0) {
    timers_.arm(timer_, irq_edge_);
  } else {
    timers_.disarm(timer_);
  }
}

void Pit8254::on_timer() {
  bool fire = false;
  {
    std::lock_guard lock(mutex_);
    const int64_t now = timers_.clock().now_ns();
    if (irq_edge_ < 0) return;  // reprogrammed meanwhile: nothing due
    if (now >= irq_edge_) {
      fire = true;
      schedule_irq(now);  // edges missed by a late wake-up are coalesced into this pulse
    } else {
      timers_.arm(timer_, irq_edge_);  // a stale early wake-up
    }
  }
  if (fire) irq0_.pulse();
}

// Times are on the VM's clock, which a restore sets back to where the snapshot was taken, so
// the saved start times and the armed edge stay valid as they are.
Result<void> Pit8254::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(channels_, port_b_, irq_edge_);
  return {};
}

Result<void> Pit8254::load_state(bus::StateReader& in) {
  std::lock_guard lock(mutex_);
  in(channels_, port_b_, irq_edge_);
  for (const Channel& c : channels_)
    if (c.mode > 5 || c.access < 1 || c.access > 3 || c.reload == 0 || c.reload > 0x10000)
      in.fail_with("pit: channel state out of range");
  VESSEL_TRY_VOID(in.finish());
  if (irq_edge_ >= 0) {
    timers_.arm(timer_, irq_edge_);
  } else {
    timers_.disarm(timer_);
  }
  return {};
}

}  // namespace vessel::devices
