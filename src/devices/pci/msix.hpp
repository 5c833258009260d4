// MSI-X state of one PCI function (PCI Local Bus Spec 3.0 §6.8.2-6.8.3): the vector table
// (16 bytes per entry: address low/high, data, vector control) and the pending-bit array, both
// living in a memory BAR, plus the enable and function-mask bits of the capability's message
// control word (kept in config space by PciDevice, which forwards them here).
//
// A message is sent only while MSI-X is enabled, the function and the vector are unmasked and
// bus mastering is on; otherwise the vector's pending bit is set and the message goes out when
// the mask is lifted (§6.8.3.5). A vector beyond the table is ignored and logged once.
// Messages are handed to an MsiSignal the machine provides (the Vm's signal_msi); the device
// never knows which engine delivers them. Thread-safe; the signal is called without the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <vector>

#include "bus/device_state.hpp"

namespace vessel::devices::pci {

using MsiSignal = std::function<void(uint64_t address, uint32_t data)>;

class Msix {
 public:
  explicit Msix(uint16_t vectors);

  uint16_t vectors() const { return vectors_; }
  uint64_t table_bytes() const { return uint64_t{vectors_} * 16; }
  uint64_t pba_bytes() const { return (uint64_t{vectors_} + 63) / 64 * 8; }

  void set_signal(MsiSignal signal);
  // From the capability's message control word and the command register.
  void set_control(bool enabled, bool function_masked, bool bus_master);
  // Back to the power-on state: every vector masked, nothing pending, disabled.
  void reset();

  // Accesses inside the table / PBA; offsets are relative to their start.
  void table_read(uint64_t offset, std::span<uint8_t> data);
  void table_write(uint64_t offset, std::span<const uint8_t> data);
  void pba_read(uint64_t offset, std::span<uint8_t> data);

  // Asks for an interrupt on `vector`. Returns true when the vector exists (sent or pending).
  bool notify(uint16_t vector);

  bool enabled() const;

  // Snapshots: the table, the pending bits and the control state.
  void save_state(bus::StateWriter& out) const;
  void load_state(bus::StateReader& in);
  bool pending(uint16_t vector) const;

 private:
  struct Message {
    uint64_t address;
    uint32_t data;
  };
  bool masked_locked(uint16_t vector) const;
  uint32_t control_locked(uint16_t vector) const;
  // Moves deliverable pending vectors into `out` (mutex_ held).
  void collect_unmasked_pending(std::vector<Message>& out);
  Message message_locked(uint16_t vector) const;
  void send(const std::vector<Message>& messages);

  const uint16_t vectors_;
  mutable std::mutex mutex_;
  std::vector<uint8_t> table_;
  std::vector<uint64_t> pending_;
  bool enabled_ = false;
  bool function_masked_ = false;
  bool bus_master_ = false;
  bool warned_bad_vector_ = false;
  MsiSignal signal_;
};

}  // namespace vessel::devices::pci
