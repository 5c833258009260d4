#include "boot/mptable.hpp"

#include "boot/byte_writer.hpp"
#include "boot/layout.hpp"

namespace vessel::boot {
namespace {

constexpr size_t kFloatingSize = 16;
constexpr size_t kHeaderSize = 44;
constexpr uint8_t kProcessor = 0, kBus = 1, kIoApic = 2, kIoInterrupt = 3, kLocalInterrupt = 4;
constexpr uint8_t kIntTypeInt = 0, kIntTypeNmi = 1, kIntTypeExtInt = 3;
constexpr uint8_t kApicVersion = 0x14;    // an integrated local APIC (Table 4-4)
constexpr uint8_t kIoApicVersion = 0x11;  // 82093AA-compatible IOAPIC
constexpr uint16_t kIrqLevelHigh = 0x0d;  // polarity 01 = high, trigger 11 = level (Table 4-8)
constexpr uint8_t kIsaBusId = 0;
constexpr uint8_t kSciIrq = 9;  // ACPI SCI: level-triggered, as the MADT's override says

class Entries {
 public:
  explicit Entries(size_t start) : w_(start), pos_(start) {}
  void processor(uint8_t apic_id, bool bsp) {
    w_.u8(pos_, kProcessor);
    w_.u8(pos_ + 1, apic_id);
    w_.u8(pos_ + 2, kApicVersion);
    w_.u8(pos_ + 3, uint8_t(1 | (bsp ? 2 : 0)));  // EN, BP
    w_.u32(pos_ + 4, 0x600);                      // family 6 signature
    w_.u32(pos_ + 8, 0x201);                      // feature flags: FPU, APIC
    next(20);
  }
  void bus(uint8_t id, const char* type) {
    w_.u8(pos_, kBus);
    w_.u8(pos_ + 1, id);
    w_.str(pos_ + 2, type, 6);
    next(8);
  }
  void ioapic(uint8_t id) {
    w_.u8(pos_, kIoApic);
    w_.u8(pos_ + 1, id);
    w_.u8(pos_ + 2, kIoApicVersion);
    w_.u8(pos_ + 3, 1);  // enabled
    w_.u32(pos_ + 4, uint32_t(layout::kIoApicAddress));
    next(8);
  }
  // Types 3 (I/O interrupt) and 4 (local interrupt) share one layout (Tables 4-7, 4-9).
  void interrupt(uint8_t entry, uint8_t type, uint16_t flags, uint8_t src_irq, uint8_t dst_id,
                 uint8_t dst_pin) {
    w_.u8(pos_, entry);
    w_.u8(pos_ + 1, type);
    w_.u16(pos_ + 2, flags);
    w_.u8(pos_ + 4, kIsaBusId);
    w_.u8(pos_ + 5, src_irq);
    w_.u8(pos_ + 6, dst_id);
    w_.u8(pos_ + 7, dst_pin);
    next(8);
  }
  ByteWriter& writer() { return w_; }
  size_t end() const { return pos_; }
  uint16_t count() const { return count_; }

 private:
  void next(size_t n) {
    pos_ += n;
    ++count_;
  }
  ByteWriter w_;
  size_t pos_;
  uint16_t count_ = 0;
};

}  // namespace

std::vector<uint8_t> build_mptable(uint64_t address, unsigned vcpus) {
  const uint8_t ioapic_id = uint8_t(vcpus);
  Entries e(kFloatingSize + kHeaderSize);
  for (unsigned i = 0; i < vcpus; ++i) e.processor(uint8_t(i), i == 0);
  e.bus(kIsaBusId, "ISA");
  e.ioapic(ioapic_id);
  // The 8259's output (ExtINT) on pin 0; ISA IRQ0 (the PIT) on pin 2, as on every PC since
  // the IOAPIC; the other ISA IRQs on the pin of the same number (IRQ2 is the cascade).
  e.interrupt(kIoInterrupt, kIntTypeExtInt, 0, 0, ioapic_id, 0);
  e.interrupt(kIoInterrupt, kIntTypeInt, 0, 0, ioapic_id, 2);
  for (uint8_t irq = 1; irq < 16; ++irq) {
    if (irq == 2) continue;
    e.interrupt(kIoInterrupt, kIntTypeInt, irq == kSciIrq ? kIrqLevelHigh : 0, irq, ioapic_id, irq);
  }
  // Virtual-wire wiring of every local APIC: LINT0 = ExtINT, LINT1 = NMI (MP 1.4 §5.1).
  e.interrupt(kLocalInterrupt, kIntTypeExtInt, 0, 0, 0xff, 0);
  e.interrupt(kLocalInterrupt, kIntTypeNmi, 0, 0, 0xff, 1);

  ByteWriter& w = e.writer();
  const size_t table_len = e.end() - kFloatingSize;
  // Configuration table header (Table 4-2).
  const size_t h = kFloatingSize;
  w.str(h, "PCMP", 4);
  w.u16(h + 4, uint16_t(table_len));
  w.u8(h + 6, 4);  // spec revision 1.4
  w.str(h + 8, "VESSEL", 8);
  w.str(h + 16, "VESSEL VM", 12);
  w.u16(h + 34, e.count());
  w.u32(h + 36, uint32_t(layout::kLocalApicAddress));
  w.u8(h + 7, checksum_byte(std::span(w.data()).subspan(h, table_len)));
  // Floating pointer (Table 4-1): feature byte 1 = 0 (a table is present), byte 2 = 0
  // (virtual wire mode, no IMCR).
  w.str(0, "_MP_", 4);
  w.u32(4, uint32_t(address + kFloatingSize));
  w.u8(8, 1);  // length in 16-byte paragraphs
  w.u8(9, 4);  // spec revision 1.4
  w.u8(10, checksum_byte(std::span(w.data()).subspan(0, kFloatingSize)));
  return std::move(w.data());
}

Result<void> write_mptable(const memory::GuestMemory& memory, unsigned vcpus) {
  if (vcpus == 0 || vcpus > kMpMaxVcpus)
    return fail("{} vCPUs: the MP table supports 1 to {}", vcpus, kMpMaxVcpus);
  const std::vector<uint8_t> table = build_mptable(layout::kMpTable, vcpus);
  if (table.size() > layout::kMpTableEnd - layout::kMpTable)
    return fail("MP table of {} bytes does not fit below {:#x}", table.size(), layout::kMpTableEnd);
  return memory.write(layout::kMpTable, table);
}

}  // namespace vessel::boot
