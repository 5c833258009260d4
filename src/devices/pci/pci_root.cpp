#include "devices/pci/pci_root.hpp"

#include <algorithm>

namespace vessel::devices::pci {

PciRoot::PciRoot(bus::Bus& mmio, bus::IrqSink* irq_sink, BarAllocator allocator)
    : mmio_(mmio), irq_sink_(irq_sink), allocator_(allocator) {
  slots_[0] = std::make_shared<HostBridge>();
}

Result<unsigned> PciRoot::add(std::shared_ptr<PciDevice> device, std::optional<unsigned> slot) {
  std::lock_guard lock(mutex_);
  if (!slot) {
    auto free = std::find(slots_.begin() + 1, slots_.end(), nullptr);
    if (free == slots_.end()) return fail("PCI bus 0 is full");
    slot = static_cast<unsigned>(free - slots_.begin());
  }
  if (*slot == 0 || *slot >= kDevicesPerBus || slots_[*slot])
    return fail("PCI slot {} is not free for {}", *slot, device->name());
  device->attach(&mmio_, bus::IrqLine(this, *slot), static_cast<uint8_t>(intx_gsi(*slot)));
  VESSEL_TRY_VOID(device->place_bars(allocator_));
  slots_[*slot] = std::move(device);
  return *slot;
}

PciDevice* PciRoot::device(unsigned slot) const {
  std::lock_guard lock(mutex_);
  return slot < kDevicesPerBus ? slots_[slot].get() : nullptr;
}

PciDevice* PciRoot::find(uint8_t bus, uint8_t slot, uint8_t function, uint16_t reg,
                         size_t len) const {
  if (bus != 0 || function != 0 || slot >= kDevicesPerBus) return nullptr;
  if (reg >= kExtendedConfigSpaceSize || len > size_t{kExtendedConfigSpaceSize} - reg)
    return nullptr;
  std::lock_guard lock(mutex_);
  return slots_[slot].get();
}

void PciRoot::config_read(uint8_t bus, uint8_t slot, uint8_t function, uint16_t reg,
                          std::span<uint8_t> data) {
  if (PciDevice* d = find(bus, slot, function, reg, data.size()))
    d->config_read(reg, data);
  else
    std::fill(data.begin(), data.end(), 0xff);
}

void PciRoot::config_write(uint8_t bus, uint8_t slot, uint8_t function, uint16_t reg,
                           std::span<const uint8_t> data) {
  if (PciDevice* d = find(bus, slot, function, reg, data.size())) d->config_write(reg, data);
}

void PciRoot::set_irq_level(uint32_t slot, bool level) {
  if (slot >= kDevicesPerBus) return;
  const uint32_t gsi = intx_gsi(slot);
  bool changed = false, any = false;
  {
    std::lock_guard lock(mutex_);
    slot_level_[slot] = level;
    for (unsigned s = 0; s < kDevicesPerBus; ++s) any |= slot_level_[s] && intx_gsi(s) == gsi;
    changed = gsi_level_[gsi - kIntxFirstGsi] != any;
    gsi_level_[gsi - kIntxFirstGsi] = any;
  }
  if (changed && irq_sink_) irq_sink_->set_irq_level(gsi, any);
}

HostBridge::HostBridge()
    : PciDevice(PciIdentity{.vendor_id = 0x1b36,
                            .device_id = 0x0008,
                            .revision = 0,
                            .class_code = 0x060000,
                            .subsystem_vendor_id = 0x1b36,
                            .subsystem_id = 0x0008}) {}

void HostBridge::bar_read(unsigned, uint64_t, std::span<uint8_t> data) {
  std::fill(data.begin(), data.end(), 0xff);
}

Result<void> PciRoot::save_state(bus::StateWriter& out) const {
  std::lock_guard lock(mutex_);
  out(slot_level_, gsi_level_);
  return {};
}

Result<void> PciRoot::load_state(bus::StateReader& in) {
  std::lock_guard lock(mutex_);
  in(slot_level_, gsi_level_);
  return in.finish();
}

}  // namespace vessel::devices::pci
