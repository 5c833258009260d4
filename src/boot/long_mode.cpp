#include "boot/long_mode.hpp"

#include <array>

#include "boot/layout.hpp"

namespace vessel::boot {
namespace {

// Descriptors (SDM Vol. 3A §3.4.5): G=1, limit 0xfffff, P=1, S=1, DPL 0.
constexpr uint64_t kCode64 = 0x00af9b000000ffffull;  // type 0xb (exec/read, accessed), L=1
constexpr uint64_t kData = 0x00cf93000000ffffull;    // type 0x3 (read/write, accessed), D/B=1

// Page-table entry bits (SDM Vol. 3A §4.5, Tables 4-15 to 4-18).
constexpr uint64_t kPresent = 1, kWritable = 2, kPageSize = 0x80;
constexpr uint64_t k2MiB = 2ull << 20;

arch::Segment flat_segment(uint16_t selector, uint8_t type, bool code64) {
  arch::Segment s;
  s.selector = selector;
  s.base = 0;
  s.limit = 0xffffffff;
  s.type = type;
  s.s = true;
  s.present = true;
  s.g = true;
  s.l = code64;
  s.db = !code64;  // D must be 0 when L is 1 (SDM Vol. 3A §5.2.1)
  return s;
}

}  // namespace

Result<void> write_long_mode_tables(const memory::GuestMemory& memory) {
  const std::array<uint64_t, 4> gdt = {0, 0, kCode64, kData};
  VESSEL_TRY_VOID(memory.write_obj(layout::kGdt, gdt));
  VESSEL_TRY_VOID(memory.write_obj(layout::kIdt, uint64_t{0}));

  std::array<uint64_t, 512> table{};
  table[0] = layout::kPdpt | kPresent | kWritable;
  VESSEL_TRY_VOID(memory.write_obj(layout::kPml4, table));
  table = {};
  for (uint64_t i = 0; i < layout::kPageDirCount; ++i)
    table[i] = (layout::kPageDirs + i * 0x1000) | kPresent | kWritable;
  VESSEL_TRY_VOID(memory.write_obj(layout::kPdpt, table));
  for (uint64_t dir = 0; dir < layout::kPageDirCount; ++dir) {
    for (uint64_t i = 0; i < 512; ++i)
      table[i] = ((dir * 512 + i) * k2MiB) | kPresent | kWritable | kPageSize;
    VESSEL_TRY_VOID(memory.write_obj(layout::kPageDirs + dir * 0x1000, table));
  }
  return {};
}

arch::CpuState long_mode_entry_state(uint64_t entry, uint64_t boot_params) {
  arch::CpuState s = arch::reset_state();
  s.seg[arch::kCs] = flat_segment(kBootCs, 0xb, true);
  for (int i : {arch::kDs, arch::kEs, arch::kSs, arch::kFs, arch::kGs})
    s.seg[i] = flat_segment(kBootDs, 0x3, false);
  s.gdt = {layout::kGdt, 4 * 8 - 1};
  s.idt = {layout::kIdt, 0};
  s.cr0 = arch::cr0::kPE | arch::cr0::kET | arch::cr0::kPG;
  s.cr3 = layout::kPml4;
  s.cr4 = arch::cr4::kPAE;
  s.efer = arch::efer::kLME | arch::efer::kLMA;
  s.rflags = arch::rflags::kReserved1;  // IF = 0
  s.rip = entry;
  s.gpr = {};
  s.gpr[arch::kRsi] = boot_params;
  s.gpr[arch::kRsp] = layout::kBootStack;
  s.gpr[arch::kRbp] = layout::kBootStack;
  return s;
}

}  // namespace vessel::boot
