#include "devices/legacy/rtc_cmos.hpp"

#include <algorithm>

namespace vessel::devices {

namespace {
constexpr int64_t kNsPerSec = 1'000'000'000;
constexpr int64_t kUpdateInProgressNs = 244'000;  // data sheet: UIP precedes the update by 244 us
// Register indexes.
constexpr uint8_t kSeconds = 0x00, kSecondsAlarm = 0x01, kMinutes = 0x02, kMinutesAlarm = 0x03;
constexpr uint8_t kHours = 0x04, kHoursAlarm = 0x05, kWeekday = 0x06, kDay = 0x07;
constexpr uint8_t kMonth = 0x08, kYear = 0x09, kRegA = 0x0a, kRegB = 0x0b, kRegC = 0x0c;
constexpr uint8_t kRegD = 0x0d;
// Register B bits.
constexpr uint8_t kBSet = 0x80, kBPie = 0x40, kBAie = 0x20, kBUie = 0x10;
constexpr uint8_t kBBinary = 0x04, kB24Hour = 0x02;
// Register C bits.
constexpr uint8_t kCIrqf = 0x80, kCPf = 0x40, kCAf = 0x20, kCUf = 0x10;
constexpr uint8_t kDValidRam = 0x80;

int64_t host_utc_now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * kNsPerSec + ts.tv_nsec;
}

int64_t floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
}  // namespace

RtcCmos::RtcCmos(TimerService& timers, bus::IrqLine irq, std::optional<time_t> start_utc)
    : timers_(timers),
      irq_(irq),
      timer_(timers.add([this] { on_timer(); })),
      epoch_ns_(start_utc ? int64_t{*start_utc} * kNsPerSec : host_utc_now_ns()),
      base_ns_(timers.clock().now_ns()),
      checked_ns_(base_ns_),
      origin_ns_(base_ns_) {}

RtcCmos::~RtcCmos() {
  timers_.remove(timer_);
}

void RtcCmos::read(uint64_t port, std::span<uint8_t> data) {
  {
    std::lock_guard lock(mutex_);
    const int64_t now = timers_.clock().now_ns();
    for (size_t i = 0; i < data.size(); ++i) {
      const uint64_t p = port + i;
      // Port 0x70 is write-only on most chipsets; reading back the latch is harmless.
      data[i] = p == kDataPort ? read_register(index_, now)
                               : static_cast<uint8_t>(index_ | (nmi_masked_ ? 0x80 : 0));
    }
  }
  sync_irq();  // reading C lowers the line
}

void RtcCmos::write(uint64_t port, std::span<const uint8_t> data) {
  {
    std::lock_guard lock(mutex_);
    const int64_t now = timers_.clock().now_ns();
    for (size_t i = 0; i < data.size(); ++i) {
      if (port + i == kIndexPort) {
        index_ = data[i] & 0x7f;
        nmi_masked_ = data[i] & 0x80;
      } else if (port + i == kDataPort) {
        write_register(index_, data[i], now);
      }
    }
  }
  sync_irq();
}

std::tm RtcCmos::broken_down(int64_t now) const {
  const time_t secs = static_cast<time_t>(floor_div(guest_ns(now), kNsPerSec));
  std::tm t{};
  gmtime_r(&secs, &t);
  return t;
}

uint8_t RtcCmos::encode(int value) const {
  if (reg_b_ & kBBinary) return static_cast<uint8_t>(value);
  return static_cast<uint8_t>(((value / 10) % 10) << 4 | (value % 10));
}

int RtcCmos::decode(uint8_t value) const {
  if (reg_b_ & kBBinary) return value;
  return (value >> 4) * 10 + (value & 0xf);
}

uint8_t RtcCmos::encode_hour(int hour) const {
  if (reg_b_ & kB24Hour) return encode(hour);
  const int h12 = hour % 12 == 0 ? 12 : hour % 12;
  return static_cast<uint8_t>(encode(h12) | (hour >= 12 ? 0x80 : 0));
}

int RtcCmos::decode_hour(uint8_t value) const {
  if (reg_b_ & kB24Hour) return decode(value);
  return decode(value & 0x7f) % 12 + (value & 0x80 ? 12 : 0);
}

uint8_t RtcCmos::read_register(uint8_t index, int64_t now) {
  const std::tm t = broken_down(now);
  switch (index) {
    case kSeconds:
      return encode(t.tm_sec);
    case kMinutes:
      return encode(t.tm_min);
    case kHours:
      return encode_hour(t.tm_hour);
    case kWeekday:
      return encode(t.tm_wday + 1);  // 1 = Sunday
    case kDay:
      return encode(t.tm_mday);
    case kMonth:
      return encode(t.tm_mon + 1);
    case kYear:
      return encode((t.tm_year + 1900) % 100);
    case kCenturyRegister:
      return encode((t.tm_year + 1900) / 100);
    case kRegA: {
      const int64_t into_second = guest_ns(now) - floor_div(guest_ns(now), kNsPerSec) * kNsPerSec;
      const bool uip = !(reg_b_ & kBSet) && into_second >= kNsPerSec - kUpdateInProgressNs;
      return static_cast<uint8_t>(reg_a_ | (uip ? 0x80 : 0));
    }
    case kRegB:
      return reg_b_;
    case kRegC: {
      update_flags(now);
      const uint8_t c = reg_c_;
      reg_c_ = 0;  // reading C clears every flag (and so the IRQ)
      schedule(now);
      return c;
    }
    case kRegD:
      return kDValidRam;
    default:
      return cmos_[index & 0x7f];
  }
}

void RtcCmos::write_register(uint8_t index, uint8_t value, int64_t now) {
  switch (index) {
    case kSeconds:
    case kMinutes:
    case kHours:
    case kDay:
    case kMonth:
    case kYear:
    case kCenturyRegister:
      return set_time_field(index, value, now);
    case kWeekday:  // derived from the date
    case kRegC:
    case kRegD:
      return;
    case kRegA:
      update_flags(now);
      reg_a_ = value & 0x7f;  // UIP is read-only
      return schedule(now);
    case kRegB:
      update_flags(now);
      reg_b_ = value;
      if (reg_b_ & kBSet) reg_b_ &= ~kBUie;  // data sheet: SET clears UIE
      if (reg_c_ & reg_b_ & (kCPf | kCAf | kCUf)) reg_c_ |= kCIrqf;
      return schedule(now);
    default:
      cmos_[index & 0x7f] = value;  // alarms and RAM
      return;
  }
}

void RtcCmos::set_time_field(uint8_t index, uint8_t value, int64_t now) {
  update_flags(now);
  std::tm t = broken_down(now);
  const int64_t g = guest_ns(now);
  const int64_t sub = g - floor_div(g, kNsPerSec) * kNsPerSec;
  const int year = t.tm_year + 1900;
  switch (index) {
    case kSeconds:
      t.tm_sec = std::min(decode(value), 59);
      break;
    case kMinutes:
      t.tm_min = std::min(decode(value), 59);
      break;
    case kHours:
      t.tm_hour = std::min(decode_hour(value), 23);
      break;
    case kDay:
      t.tm_mday = std::clamp(decode(value), 1, 31);
      break;
    case kMonth:
      t.tm_mon = std::clamp(decode(value), 1, 12) - 1;
      break;
    case kYear:
      t.tm_year = year / 100 * 100 + decode(value) % 100 - 1900;
      break;
    default:  // century
      t.tm_year = std::clamp(decode(value), 19, 99) * 100 + year % 100 - 1900;
      break;
  }
  const time_t secs = timegm(&t);
  epoch_ns_ = int64_t{secs} * kNsPerSec + sub;
  base_ns_ = now;
  schedule(now);
}

int64_t RtcCmos::periodic_ns() const {
  // Rate select with the 32.768 kHz time base (data sheet table 3): 1 and 2 alias 8 and 9;
  // otherwise the rate is 65536 >> RS per second.
  unsigned rs = reg_a_ & 0xf;
  if (rs == 0) return 0;
  if (rs <= 2) rs += 7;
  return kNsPerSec * (int64_t{1} << rs) / 65536;
}

bool RtcCmos::alarm_matches(const std::tm& t) const {
  // An alarm byte with its two top bits set is "don't care".
  const auto match = [&](uint8_t alarm, int value, bool hour) {
    if ((alarm & 0xc0) == 0xc0) return true;
    return (hour ? decode_hour(alarm) : decode(alarm)) == value;
  };
  return match(cmos_[kSecondsAlarm], t.tm_sec, false) &&
         match(cmos_[kMinutesAlarm], t.tm_min, false) && match(cmos_[kHoursAlarm], t.tm_hour, true);
}

void RtcCmos::update_flags(int64_t now) {
  if (now <= checked_ns_) return;
  if (!(reg_b_ & kBSet) &&
      floor_div(guest_ns(now), kNsPerSec) > floor_div(guest_ns(checked_ns_), kNsPerSec)) {
    reg_c_ |= kCUf;
    if (alarm_matches(broken_down(now))) reg_c_ |= kCAf;
  }
  if (const int64_t p = periodic_ns(); p > 0) {
    if ((now - origin_ns_) / p > (checked_ns_ - origin_ns_) / p) reg_c_ |= kCPf;
  }
  checked_ns_ = now;
  if (reg_c_ & reg_b_ & (kCPf | kCAf | kCUf)) reg_c_ |= kCIrqf;
}

void RtcCmos::schedule(int64_t now) {
  // Nothing to deliver while IRQF is already up: reading C clears it and schedules again.
  int64_t next = -1;
  if (!(reg_c_ & kCIrqf)) {
    if ((reg_b_ & (kBUie | kBAie)) && !(reg_b_ & kBSet)) {
      const int64_t g = guest_ns(now);
      next = now + (floor_div(g, kNsPerSec) + 1) * kNsPerSec - g;
    }
    if (const int64_t p = periodic_ns(); p > 0 && (reg_b_ & kBPie)) {
      const int64_t tick = origin_ns_ + ((now - origin_ns_) / p + 1) * p;
      next = next < 0 ? tick : std::min(next, tick);
    }
  }
  if (next >= 0) {
    timers_.arm(timer_, next);
  } else {
    timers_.disarm(timer_);
  }
}

void RtcCmos::on_timer() {
  {
    std::lock_guard lock(mutex_);
    const int64_t now = timers_.clock().now_ns();
    update_flags(now);
    schedule(now);
  }
  sync_irq();
}

void RtcCmos::sync_irq() {
  std::lock_guard order(irq_mutex_);
  bool level;
  {
    std::lock_guard lock(mutex_);
    level = reg_c_ & kCIrqf;
  }
  if (level != irq_level_) {
    irq_level_ = level;
    irq_.set_level(level);
  }
}

void RtcCmos::set_ram(uint8_t index, uint8_t value) {
  std::lock_guard lock(mutex_);
  if (index >= 0x0e && index < 0x80 && index != kCenturyRegister) cmos_[index] = value;
}

void RtcCmos::set_memory_size(uint64_t below_4g, uint64_t above_4g) {
  constexpr uint64_t kMiB = 1 << 20;
  const auto put16 = [&](uint8_t index, uint64_t v) {
    v = std::min<uint64_t>(v, 0xffff);
    cmos_[index] = static_cast<uint8_t>(v);
    cmos_[index + 1] = static_cast<uint8_t>(v >> 8);
  };
  std::lock_guard lock(mutex_);
  put16(0x15, 640);  // base memory in KiB
  const uint64_t ext_kib = below_4g > kMiB ? std::min(below_4g - kMiB, 63 * kMiB) / 1024 : 0;
  put16(0x17, ext_kib);
  put16(0x30, ext_kib);
  put16(0x34, below_4g > 16 * kMiB ? (below_4g - 16 * kMiB) >> 16 : 0);
  const uint64_t high = std::min<uint64_t>(above_4g >> 16, 0xff'ffff);
  cmos_[0x5b] = static_cast<uint8_t>(high);
  cmos_[0x5c] = static_cast<uint8_t>(high >> 8);
  cmos_[0x5d] = static_cast<uint8_t>(high >> 16);
}

bool RtcCmos::nmi_masked() const {
  std::lock_guard lock(mutex_);
  return nmi_masked_;
}

// The guest's wall time goes on from the snapshot's (the VM clock is restored with it).
Result<void> RtcCmos::save_state(bus::StateWriter& out) const {
  std::scoped_lock lock(irq_mutex_, mutex_);
  out(cmos_, index_, nmi_masked_, epoch_ns_, base_ns_, checked_ns_, origin_ns_, reg_a_, reg_b_,
      reg_c_, irq_level_);
  return {};
}

Result<void> RtcCmos::load_state(bus::StateReader& in) {
  {
    std::scoped_lock lock(irq_mutex_, mutex_);
    in(cmos_, index_, nmi_masked_, epoch_ns_, base_ns_, checked_ns_, origin_ns_, reg_a_, reg_b_,
       reg_c_, irq_level_);
    if (index_ >= cmos_.size()) in.fail_with("rtc: register index out of range");
    VESSEL_TRY_VOID(in.finish());
    schedule(timers_.clock().now_ns());
  }
  return {};
}

}  // namespace vessel::devices
