#include "guest_layout.hpp"

#include <iterator>

namespace vessel::difftest {
namespace {

// GDT (SDM Vol. 3A §3.4.5, §5.2.1): 0x08 code64 DPL0, 0x10 data DPL0, 0x20 data DPL3,
// 0x28 code64 DPL3, 0x38 64-bit available TSS (16 bytes, §8.2.3).
constexpr uint16_t kUserData = 0x23, kUserCode = 0x2b, kTssSel = 0x38;

Result<void> put64(const memory::GuestMemory& mem, uint64_t gpa, uint64_t v) {
  return mem.write_obj(gpa, v);
}

bool has_error_code(uint8_t v) {  // SDM Vol. 3A §6.3.1, Table 6-1
  return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

arch::Segment flat(uint16_t sel, uint8_t type, bool code64, uint8_t dpl) {
  arch::Segment g;
  g.selector = sel;
  g.limit = 0xffffffff;
  g.type = type;
  g.l = code64;
  g.db = !code64;
  g.g = true;
  g.dpl = dpl;
  return g;
}

}  // namespace

std::vector<uint8_t> terminated_code(const TestCase& tc) {
  std::vector<uint8_t> out = tc.code;
  out.insert(out.end(), {0xe6, kDonePort, 0xeb, 0xfe});
  return out;
}

Result<void> install_layout(const memory::GuestMemory& mem) {
  const uint64_t gdt[] = {0,
                          0x00af9b000000ffff,
                          0x00cf93000000ffff,
                          0x00cf9b000000ffff,
                          0x00cff3000000ffff,
                          0x00affb000000ffff,
                          0x00cffb000000ffff};
  for (size_t i = 0; i < std::size(gdt); ++i) VESSEL_TRY_VOID(put64(mem, kGdt + 8 * i, gdt[i]));
  const uint64_t tss_desc =
      0x67ull | ((kTss & 0xffffff) << 16) | (0x89ull << 40) | (((kTss >> 24) & 0xff) << 56);
  VESSEL_TRY_VOID(put64(mem, kGdt + kTssSel, tss_desc));
  VESSEL_TRY_VOID(put64(mem, kGdt + kTssSel + 8, kTss >> 32));
  // 64-bit TSS: RSP0 at offset 4; the I/O map base (offset 0x66) beyond the limit: no bitmap.
  VESSEL_TRY_VOID(mem.write_obj<uint64_t>(kTss + 4, kRing0StackTop));
  VESSEL_TRY_VOID(mem.write_obj<uint16_t>(kTss + 0x66, 0x68));
  // Interrupt gates (SDM Vol. 3A §6.14.1) to `out kFaultPortBase+v, al; jmp $`.
  for (uint8_t v = 0; v < 32; ++v) {
    const uint64_t stub = kStubs + 16 * v;
    const std::vector<uint8_t> code = {0xe6, static_cast<uint8_t>(kFaultPortBase + v), 0xeb, 0xfe};
    VESSEL_TRY_VOID(mem.write(stub, code));
    const uint64_t lo =
        (stub & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | (((stub >> 16) & 0xffff) << 48);
    VESSEL_TRY_VOID(put64(mem, kIdt + 16 * v, lo));
    VESSEL_TRY_VOID(put64(mem, kIdt + 16 * v + 8, stub >> 32));
  }
  // 4-level paging (SDM Vol. 3A §4.5): 4 KiB user+writable pages for the first 2 MiB.
  VESSEL_TRY_VOID(put64(mem, kPml4, (kPml4 + 0x1000) | 7));
  VESSEL_TRY_VOID(put64(mem, kPml4 + 0x1000, (kPml4 + 0x2000) | 7));
  VESSEL_TRY_VOID(put64(mem, kPml4 + 0x2000, (kPml4 + 0x3000) | 7));
  for (uint64_t i = 0; i < 512; ++i)
    VESSEL_TRY_VOID(put64(mem, kPml4 + 0x3000 + 8 * i, (i << 12) | 7));
  return {};
}

Result<void> load_case(const memory::GuestMemory& mem, const TestCase& tc) {
  const auto code = terminated_code(tc);
  if (code.size() > kCodeSize) return fail("sequence of {} bytes is too long", code.size());
  VESSEL_TRY_VOID(mem.write(kCode, code));
  VESSEL_TRY_VOID(mem.write(kScratch, tc.scratch));
  VESSEL_TRY_VOID(mem.write(kStack, tc.stack));
  return {};
}

arch::CpuState initial_state(const TestCase& tc) {
  arch::CpuState s = arch::reset_state();
  using namespace arch;
  s.cr0 = cr0::kPE | cr0::kMP | cr0::kET | cr0::kNE | cr0::kWP | cr0::kPG;
  s.cr4 = cr4::kPAE | cr4::kPGE | cr4::kOSFXSR | cr4::kOSXMMEXCPT;
  s.cr3 = kPml4;
  s.efer = efer::kLME | efer::kLMA | efer::kNXE | efer::kSCE;
  s.gdt = {kGdt, 0x47};
  s.idt = {kIdt, 32 * 16 - 1};
  s.seg[kCs] = flat(kUserCode, 0xb, true, 3);
  for (int i : {kDs, kEs, kSs, kFs, kGs}) s.seg[i] = flat(kUserData, 0x3, false, 3);
  s.seg[kFs].base = s.seg[kGs].base = 0;
  s.seg[kTr] = arch::Segment{kTssSel, kTss, 0x67, 0xb, false, 0, true};
  s.seg[kLdtr] = arch::Segment{};
  s.seg[kLdtr].type = 2;
  s.seg[kLdtr].s = false;
  s.seg[kLdtr].unusable = true;
  s.gpr = tc.gpr;
  s.gpr[kRsp] = kInitialRsp;
  s.gpr[kScratchBaseReg] = kScratch;
  s.rflags = tc.rflags | 2 | kIf;
  s.rip = kCode;
  return s;
}

Outcome outcome_at_port(const memory::GuestMemory& mem, const arch::CpuState& st, uint8_t port,
                        uint64_t end_rip) {
  Outcome o;
  o.ok = true;
  o.gpr = st.gpr;
  o.rip = st.rip;
  o.rflags = st.rflags;
  if (port != kDonePort) {
    o.faulted = true;
    o.vector = static_cast<uint8_t>(port - kFaultPortBase);
    // Ring-0 frame (SDM Vol. 3A §6.14.2): [error code] RIP CS RFLAGS RSP SS.
    const uint64_t frame = st.gpr[arch::kRsp] + (has_error_code(o.vector) ? 8 : 0);
    o.rip = mem.read_obj<uint64_t>(frame).value_or(0);
    o.rflags = mem.read_obj<uint64_t>(frame + 16).value_or(0);
    o.gpr[arch::kRsp] = mem.read_obj<uint64_t>(frame + 24).value_or(0);
    // #GP at the terminating OUT is the normal end of the sequence.
    if (o.vector == 13 && o.rip == end_rip - 2) {
      o.faulted = false;
      o.rip = end_rip;
    }
  }
  o.scratch.resize(kPageSize);
  o.stack.resize(kPageSize);
  if (!mem.read(kScratch, o.scratch) || !mem.read(kStack, o.stack)) {
    o.ok = false;
    o.error = "cannot read back guest memory";
  }
  return o;
}

}  // namespace vessel::difftest
