// PciDevice: one PCI function as the host bridge sees it: a 4 KiB configuration space (the
// first 256 bytes reachable through mechanism #1, all of it through ECAM) with write masks, a
// capability list, up to six memory BARs, the command register, legacy INTx and optional MSI-X.
//
// BARs (PCI Local Bus Spec 3.0 §6.2.5.1): sized by writing all-ones (the write mask keeps the
// address bits only, so the read-back is ~(size - 1) | type bits); placed by the VMM at build
// time (place_bars with a BarAllocator) and movable by the guest: whenever memory decoding is on
// and a BAR's address changes, its window is moved on the MMIO bus (removed while decoding is
// off). I/O-space BARs, expansion ROMs, MSI (non-X) and PCIe capabilities are not implemented.
//
// Subclasses supply the identity, declare BARs and capabilities in their constructor, and
// answer BAR accesses (bar_read/bar_write); accesses to the MSI-X table and PBA are handled
// here. Thread safety: config space under one mutex; BAR accesses go straight to the subclass,
// which guards its own state. A device must outlive its registration on the MMIO bus: the
// destructor removes its windows.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>

#include "base/result.hpp"
#include "bus/bus.hpp"
#include "bus/device_state.hpp"
#include "bus/irq.hpp"
#include "devices/pci/bar_allocator.hpp"
#include "devices/pci/msix.hpp"
#include "devices/pci/pci_regs.hpp"

namespace vessel::devices::pci {

struct PciIdentity {
  uint16_t vendor_id;
  uint16_t device_id;
  uint8_t revision;
  uint32_t class_code;  // base class << 16 | subclass << 8 | prog-if
  uint16_t subsystem_vendor_id;
  uint16_t subsystem_id;
};

class PciDevice : public bus::Stateful {
 public:
  explicit PciDevice(const PciIdentity& id);
  virtual ~PciDevice();
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  virtual std::string_view name() const = 0;

  // Configuration access; `offset` + size must stay inside the 4 KiB space (the root checks).
  void config_read(uint16_t offset, std::span<uint8_t> data);
  void config_write(uint16_t offset, std::span<const uint8_t> data);

  // Called by the host bridge when the device is plugged in: the MMIO bus its BARs appear
  // on, its INTx line, and the value firmware would leave in the interrupt-line register.
  void attach(bus::Bus* mmio, bus::IrqLine intx, uint8_t interrupt_line);
  // Places every BAR with `allocator` and turns memory decoding on, as firmware would.
  Result<void> place_bars(BarAllocator& allocator);
  // The address BAR `index` currently holds (tests, firmware tables).
  uint64_t bar_address(unsigned index) const;

  // Accesses through a BAR window (used by the windows on the MMIO bus).
  void bar_access_read(unsigned bar, uint64_t offset, std::span<uint8_t> data);
  void bar_access_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data);

  Msix* msix() { return msix_.get(); }

  // Snapshots: configuration space (BARs, command, capabilities), INTx and MSI-X, then the
  // function's own state (save_function_state). BAR windows follow the restored BARs.
  Result<void> save_state(bus::StateWriter& out) const final;
  Result<void> load_state(bus::StateReader& in) final;

 protected:
  // Declares memory BAR `index` (a 64-bit BAR also takes index + 1). Constructor only.
  void add_bar(unsigned index, uint64_t size, bool is64);
  // Appends a capability; `body` starts with the capability ID, the next-pointer byte is
  // filled here. Returns its offset in config space. Constructor only.
  uint16_t add_capability(std::span<const uint8_t> body);
  // Adds an MSI-X capability with `vectors` entries, table at `table_offset` and PBA at
  // `pba_offset` of BAR `bar`. Constructor only.
  void add_msix(uint16_t vectors, unsigned bar, uint32_t table_offset, uint32_t pba_offset);
  // Read-only bytes the subclass may fill in its constructor (e.g. capability contents).
  void set_config_bytes(uint16_t offset, std::span<const uint8_t> bytes);

  // Legacy interrupt: the level is remembered, reflected in the status register and driven
  // onto the line unless INTx is disabled in the command register.
  void set_intx(bool asserted);
  bool bus_master() const;

  // The function's own state; by default a function cannot be saved, so that a device
  // added without snapshot support makes snapshot creation fail instead of losing state.
  virtual Result<void> save_function_state(bus::StateWriter&) const {
    return fail("device {} does not support snapshots", name());
  }
  virtual Result<void> load_function_state(bus::StateReader&) {
    return fail("device {} does not support snapshots", name());
  }

  virtual void bar_read(unsigned bar, uint64_t offset, std::span<uint8_t> data) = 0;
  virtual void bar_write(unsigned bar, uint64_t offset, std::span<const uint8_t> data) = 0;

 private:
  struct Bar {
    uint64_t size = 0;
    bool is64 = false;
    std::optional<uint64_t> mapped;  // where its window is on the bus now
    std::shared_ptr<bus::IoDevice> window;
  };
  struct MsixLayout {
    uint16_t cap;  // capability offset
    unsigned bar;
    uint64_t table;
    uint64_t pba;
  };

  uint32_t read32(uint16_t offset) const;
  void write32(uint16_t offset, uint32_t value);
  uint16_t read16(uint16_t offset) const;
  uint64_t bar_address_locked(unsigned index) const;
  void set_bar_mask(unsigned index);
  // Brings bus windows in line with the BARs and the command register (mutex_ held).
  void update_mappings();
  void update_intx_locked();
  // Forwards MSI-X enable/mask and bus mastering to msix_ (called without mutex_).
  void update_msix_control();

  mutable std::mutex mutex_;
  std::array<uint8_t, kExtendedConfigSpaceSize> config_{};
  std::array<uint8_t, kExtendedConfigSpaceSize> write_mask_{};
  std::array<Bar, kBarCount> bars_;
  uint16_t next_capability_ = kFirstCapability;
  uint16_t last_capability_ = 0;
  std::unique_ptr<Msix> msix_;
  std::optional<MsixLayout> msix_layout_;
  bus::Bus* mmio_ = nullptr;
  bus::IrqLine intx_;
  bool intx_level_ = false;
  bool intx_driven_ = false;
  bool warned_map_ = false;
};

}  // namespace vessel::devices::pci
