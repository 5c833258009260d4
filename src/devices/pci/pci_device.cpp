#include "devices/pci/pci_device.hpp"

#include <cstring>

#include "base/log.hpp"

namespace vessel::devices::pci {
namespace {

// What a BAR looks like on the MMIO bus: forwards to its device with the BAR index.
class BarWindow final : public bus::IoDevice {
 public:
  BarWindow(PciDevice& device, unsigned bar) : device_(device), bar_(bar) {}
  std::string_view name() const override { return device_.name(); }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    device_.bar_access_read(bar_, offset, data);
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    device_.bar_access_write(bar_, offset, data);
  }

 private:
  PciDevice& device_;
  unsigned bar_;
};

bool overlaps(uint16_t offset, size_t len, uint16_t start, size_t size) {
  return offset < start + size && start < offset + len;
}

}  // namespace

PciDevice::PciDevice(const PciIdentity& id) {
  auto put16 = [this](uint16_t at, uint16_t v) { std::memcpy(&config_[at], &v, 2); };
  put16(kVendorId, id.vendor_id);
  put16(kDeviceId, id.device_id);
  config_[kRevision] = id.revision;
  config_[kClassCode] = static_cast<uint8_t>(id.class_code);
  config_[kClassCode + 1] = static_cast<uint8_t>(id.class_code >> 8);
  config_[kClassCode + 2] = static_cast<uint8_t>(id.class_code >> 16);
  config_[kHeaderType] = 0;  // type 0, single function
  put16(kSubsystemVendorId, id.subsystem_vendor_id);
  put16(kSubsystemId, id.subsystem_id);
  config_[kInterruptPin] = 1;  // INTA#
  write_mask_[kCommand] = kCommandMemorySpace | kCommandBusMaster;
  write_mask_[kCommand + 1] = kCommandIntxDisable >> 8;
  write_mask_[kInterruptLine] = 0xff;
}

PciDevice::~PciDevice() {
  if (!mmio_) return;
  for (Bar& bar : bars_)
    if (bar.mapped) (void)mmio_->remove(*bar.mapped);
}

uint32_t PciDevice::read32(uint16_t offset) const {
  uint32_t v;
  std::memcpy(&v, &config_[offset], 4);
  return v;
}
uint16_t PciDevice::read16(uint16_t offset) const {
  uint16_t v;
  std::memcpy(&v, &config_[offset], 2);
  return v;
}
void PciDevice::write32(uint16_t offset, uint32_t value) {
  std::memcpy(&config_[offset], &value, 4);
}

void PciDevice::set_bar_mask(unsigned index) {
  const Bar& bar = bars_[index];
  const uint64_t mask = ~(bar.size - 1);
  uint32_t low = static_cast<uint32_t>(mask) & ~0xfu;
  std::memcpy(&write_mask_[kBar0 + 4 * index], &low, 4);
  if (bar.is64) {
    uint32_t high = static_cast<uint32_t>(mask >> 32);
    std::memcpy(&write_mask_[kBar0 + 4 * (index + 1)], &high, 4);
  }
}

void PciDevice::add_bar(unsigned index, uint64_t size, bool is64) {
  if (index >= kBarCount || (is64 && index + 1 >= kBarCount)) return;
  Bar& bar = bars_[index];
  bar.size = size;
  bar.is64 = is64;
  bar.window = std::make_shared<BarWindow>(*this, index);
  write32(kBar0 + 4 * index, is64 ? kBarMem64 : 0);
  set_bar_mask(index);
}

uint16_t PciDevice::add_capability(std::span<const uint8_t> body) {
  const uint16_t at = next_capability_;
  if (body.size() < 2 || at + body.size() > kConfigSpaceSize) {
    log::error("pci {}: capability of {} bytes does not fit", name(), body.size());
    return 0;
  }
  std::memcpy(&config_[at], body.data(), body.size());
  config_[at + 1] = 0;
  if (last_capability_ == 0) {
    config_[kCapabilityPointer] = static_cast<uint8_t>(at);
    config_[kStatus] |= kStatusCapabilities;
  } else {
    config_[last_capability_ + 1] = static_cast<uint8_t>(at);
  }
  last_capability_ = at;
  next_capability_ = static_cast<uint16_t>((at + body.size() + 3) & ~3u);
  return at;
}

void PciDevice::add_msix(uint16_t vectors, unsigned bar, uint32_t table_offset,
                         uint32_t pba_offset) {
  msix_ = std::make_unique<Msix>(vectors);
  const uint16_t control = static_cast<uint16_t>(msix_->vectors() - 1);
  const uint32_t table = table_offset | bar, pba = pba_offset | bar;
  uint8_t body[12] = {kCapMsix, 0};
  std::memcpy(&body[2], &control, 2);
  std::memcpy(&body[4], &table, 4);
  std::memcpy(&body[8], &pba, 4);
  const uint16_t at = add_capability(body);
  if (at == 0) return;
  write_mask_[at + 3] = (kMsixEnable | kMsixFunctionMask) >> 8;
  msix_layout_ = MsixLayout{at, bar, table_offset, pba_offset};
}

void PciDevice::set_config_bytes(uint16_t offset, std::span<const uint8_t> bytes) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < bytes.size() && offset + i < config_.size(); ++i)
    config_[offset + i] = bytes[i];
}

void PciDevice::attach(bus::Bus* mmio, bus::IrqLine intx, uint8_t interrupt_line) {
  std::lock_guard lock(mutex_);
  mmio_ = mmio;
  intx_ = intx;
  config_[kInterruptLine] = interrupt_line;
}

Result<void> PciDevice::place_bars(BarAllocator& allocator) {
  {
    std::lock_guard lock(mutex_);
    for (unsigned i = 0; i < kBarCount; ++i) {
      Bar& bar = bars_[i];
      if (bar.size == 0) continue;
      const uint64_t base = VESSEL_TRY(allocator.allocate(bar.size, bar.is64));
      write32(kBar0 + 4 * i, static_cast<uint32_t>(base) | (bar.is64 ? kBarMem64 : 0));
      if (bar.is64) write32(kBar0 + 4 * (i + 1), static_cast<uint32_t>(base >> 32));
    }
    config_[kCommand] |= kCommandMemorySpace;
    update_mappings();
  }
  update_msix_control();
  return {};
}

uint64_t PciDevice::bar_address_locked(unsigned index) const {
  const Bar& bar = bars_[index];
  uint64_t addr = read32(kBar0 + 4 * index) & ~0xfu;
  if (bar.is64) addr |= uint64_t{read32(kBar0 + 4 * (index + 1))} << 32;
  return addr;
}

uint64_t PciDevice::bar_address(unsigned index) const {
  std::lock_guard lock(mutex_);
  return index < kBarCount ? bar_address_locked(index) : 0;
}

void PciDevice::update_mappings() {
  const bool decode = config_[kCommand] & kCommandMemorySpace;
  for (unsigned i = 0; i < kBarCount; ++i) {
    Bar& bar = bars_[i];
    if (bar.size == 0 || !mmio_) continue;
    const uint64_t addr = bar_address_locked(i);
    std::optional<uint64_t> want;
    // Address 0 is what an unprogrammed BAR holds, never a real placement.
    if (decode && addr != 0 && addr + bar.size > addr) want = addr;
    if (want == bar.mapped) continue;
    if (bar.mapped) (void)mmio_->remove(*bar.mapped);
    bar.mapped.reset();
    if (!want) continue;
    if (auto r = mmio_->add(*want, bar.size, bar.window); !r) {
      // The guest moved a BAR onto something else: the BAR stays unmapped until moved again.
      if (!warned_map_) log::warn("pci {}: BAR{} not mapped: {}", name(), i, r.error().message);
      warned_map_ = true;
      continue;
    }
    bar.mapped = want;
  }
}

void PciDevice::update_intx_locked() {
  if (intx_level_)
    config_[kStatus] |= kStatusInterrupt;
  else
    config_[kStatus] &= ~kStatusInterrupt;
  const bool drive = intx_level_ && !(read16(kCommand) & kCommandIntxDisable);
  if (drive == intx_driven_) return;
  intx_driven_ = drive;
  intx_.set_level(drive);
}

void PciDevice::set_intx(bool asserted) {
  std::lock_guard lock(mutex_);
  intx_level_ = asserted;
  update_intx_locked();
}

bool PciDevice::bus_master() const {
  std::lock_guard lock(mutex_);
  return config_[kCommand] & kCommandBusMaster;
}

void PciDevice::update_msix_control() {
  if (!msix_ || !msix_layout_) return;
  uint16_t control, command;
  {
    std::lock_guard lock(mutex_);
    control = read16(msix_layout_->cap + 2);
    command = read16(kCommand);
  }
  msix_->set_control(control & kMsixEnable, control & kMsixFunctionMask,
                     command & kCommandBusMaster);
}

void PciDevice::config_read(uint16_t offset, std::span<uint8_t> data) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = offset + i < config_.size() ? config_[offset + i] : 0xff;
}

void PciDevice::config_write(uint16_t offset, std::span<const uint8_t> data) {
  bool msix_touched = false;
  {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < data.size() && offset + i < config_.size(); ++i) {
      const size_t at = offset + i;
      config_[at] =
          static_cast<uint8_t>((config_[at] & ~write_mask_[at]) | (data[i] & write_mask_[at]));
    }
    if (overlaps(offset, data.size(), kCommand, 2) ||
        overlaps(offset, data.size(), kBar0, 4 * kBarCount)) {
      update_mappings();
      update_intx_locked();
    }
    msix_touched = overlaps(offset, data.size(), kCommand, 2) ||
                   (msix_layout_ && overlaps(offset, data.size(), msix_layout_->cap, 4));
  }
  if (msix_touched) update_msix_control();
}

void PciDevice::bar_access_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) {
  if (msix_layout_ && bar == msix_layout_->bar) {
    const MsixLayout& l = *msix_layout_;
    if (offset >= l.table && offset - l.table + data.size() <= msix_->table_bytes())
      return msix_->table_read(offset - l.table, data);
    if (offset >= l.pba && offset - l.pba + data.size() <= msix_->pba_bytes())
      return msix_->pba_read(offset - l.pba, data);
  }
  bar_read(bar, offset, data);
}

void PciDevice::bar_access_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data) {
  if (msix_layout_ && bar == msix_layout_->bar) {
    const MsixLayout& l = *msix_layout_;
    if (offset >= l.table && offset - l.table + data.size() <= msix_->table_bytes())
      return msix_->table_write(offset - l.table, data);
    if (offset >= l.pba && offset - l.pba + data.size() <= msix_->pba_bytes()) return;  // RO
  }
  bar_write(bar, offset, data);
}

Result<void> PciDevice::save_state(bus::StateWriter& out) const {
  {
    std::lock_guard lock(mutex_);
    out(config_, intx_level_, intx_driven_);
  }
  out(msix_ != nullptr);
  if (msix_) msix_->save_state(out);
  return save_function_state(out);
}

Result<void> PciDevice::load_state(bus::StateReader& in) {
  std::array<uint8_t, kExtendedConfigSpaceSize> config{};
  bool intx_level = false, intx_driven = false, has_msix = false;
  in(config, intx_level, intx_driven, has_msix);
  if (has_msix != (msix_ != nullptr)) in.fail_with("pci: MSI-X presence does not match");
  if (!in.ok()) return fail("pci {}: {}", name(), in.finish().error().message);
  {
    std::lock_guard lock(mutex_);
    config_ = config;
    intx_level_ = intx_level;
    intx_driven_ = intx_driven;
    update_mappings();
  }
  if (msix_) {
    msix_->load_state(in);
    if (!in.ok()) return fail("pci {}: {}", name(), in.finish().error().message);
    update_msix_control();
  }
  return load_function_state(in);
}

}  // namespace vessel::devices::pci
