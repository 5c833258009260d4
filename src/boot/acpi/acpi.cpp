#include "boot/acpi/acpi.hpp"

#include "boot/acpi/sdt.hpp"
#include "boot/acpi/tables.hpp"
#include "boot/layout.hpp"

namespace vessel::boot::acpi {
namespace {

// Places tables one after another in [kAcpiTables, kAcpiTablesEnd) at the given alignment.
class Placer {
 public:
  explicit Placer(const memory::GuestMemory& memory) : memory_(memory) {}
  Result<uint64_t> place(const std::vector<uint8_t>& table, uint64_t align = 16) {
    const uint64_t addr = (next_ + align - 1) & ~(align - 1);
    if (table.size() > layout::kAcpiTablesEnd - addr)
      return fail("ACPI tables do not fit below {:#x}", layout::kAcpiTablesEnd);
    VESSEL_TRY_VOID(memory_.write(addr, table));
    next_ = addr + table.size();
    return addr;
  }

 private:
  const memory::GuestMemory& memory_;
  uint64_t next_ = layout::kAcpiTables + kRsdpSize;  // the RSDP goes first, written last
};

}  // namespace

Result<uint64_t> write_acpi_tables(const memory::GuestMemory& memory, const AcpiConfig& config) {
  if (config.vcpus == 0 || config.vcpus > 255)
    return fail("{} vCPUs cannot be described in the MADT", config.vcpus);
  for (const auto& t : config.extra_tables)
    if (t.size() < kHeaderSize) return fail("extra ACPI table of {} bytes is too short", t.size());
  Placer placer(memory);
  const uint64_t facs = VESSEL_TRY(placer.place(make_facs(), 64));  // §5.2.10: 64-byte aligned
  const uint64_t dsdt = VESSEL_TRY(placer.place(make_dsdt(config.dsdt_aml)));
  std::vector<uint64_t> listed;
  listed.push_back(VESSEL_TRY(placer.place(make_fadt(dsdt, facs))));
  listed.push_back(VESSEL_TRY(placer.place(make_madt(config.vcpus))));
  for (const auto& t : config.extra_tables) listed.push_back(VESSEL_TRY(placer.place(t)));
  const uint64_t rsdt = VESSEL_TRY(placer.place(make_rsdt(listed)));
  const uint64_t xsdt = VESSEL_TRY(placer.place(make_xsdt(listed)));
  VESSEL_TRY_VOID(memory.write(layout::kAcpiTables, make_rsdp(rsdt, xsdt)));
  return layout::kAcpiTables;
}

}  // namespace vessel::boot::acpi
