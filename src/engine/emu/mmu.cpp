// The soft MMU: segmentation checks, the page walk (32-bit, PAE, 4-level; SDM Vol. 3A ch. 4),
// the TLB, and physical accesses that reach RAM or the MMIO bus.
#include <fmt/format.h>

#include "engine/emu/cpu.hpp"

namespace vessel::engine::emu {

using namespace arch;

namespace {
constexpr uint64_t kPresent = 1, kRw = 2, kUs = 4, kAccessed = 0x20, kDirty = 0x40, kPs = 0x80,
                   kGlobal = 0x100, kXd = 1ull << 63;
// We advertise MAXPHYADDR = 40 (CPUID 0x80000008): bits 51:40 of entries are reserved.
constexpr uint64_t kAddrMask = 0x000000fffffff000ull;
constexpr uint64_t kHighReserved = 0x000fff0000000000ull;

// #PF error code bits (SDM Vol. 3A §4.7).
constexpr uint32_t kPfP = 1, kPfW = 2, kPfU = 4, kPfRsvd = 8, kPfI = 16;
}  // namespace

uint64_t Cpu::linear_slow(int seg, uint64_t off, unsigned size, Access acc) const {
  const Segment& s = st.seg[seg];
  if (mode64()) {
    const uint64_t la = (seg == kFs || seg == kGs) ? s.base + off : off;
    // Canonical check (SDM Vol. 3A §3.3.7.1): #SS for stack references, #GP otherwise.
    const uint64_t hi = la >> 47, last_hi = (la + size - 1) >> 47;
    if ((hi != 0 && hi != 0x1ffff) || (last_hi != 0 && last_hi != 0x1ffff))
      raise(seg == kSs ? vec::kSS : vec::kGP, 0);
    return la;
  }
  if (protected_mode() && !(st.rflags & rflags::kVM)) {
    const uint8_t fault = seg == kSs ? vec::kSS : vec::kGP;
    if (s.unusable || !s.present) raise(fault, 0);
    const bool code = s.type & 8;
    if (acc == Access::kWrite && (code || !(s.type & 2))) raise(fault, 0);
    if (acc == Access::kRead && code && !(s.type & 2)) raise(fault, 0);
    const uint64_t last = off + size - 1;
    if (!code && (s.type & 4)) {  // expand-down: valid offsets are (limit, max]
      const uint64_t max = s.db ? 0xffffffffull : 0xffffull;
      if (off <= s.limit || last > max) raise(fault, 0);
    } else if (last > s.limit) {
      raise(fault, 0);
    }
  }
  return (s.base + off) & 0xffffffffull;
}

uint64_t Cpu::walk(uint64_t la, Access acc, bool user, bool& writable, bool& nx, bool& global) {
  writable = true;
  nx = false;
  global = false;
  if (!(st.cr0 & cr0::kPG)) return la & (long_mode() ? ~0ull : 0xffffffffull);
  const bool write = acc == Access::kWrite, fetch = acc == Access::kFetch;
  const bool nxe = st.efer & efer::kNXE;
  uint32_t ec = (write ? kPfW : 0) | (user ? kPfU : 0);
  const bool pae = st.cr4 & cr4::kPAE;
  if (fetch && pae && nxe) ec |= kPfI;
  auto page_fault = [&](uint32_t extra) {
    st.cr2 = la;
    raise(vec::kPF, ec | extra);
  };
  bool us = true, rw = true, xd = false;
  uint64_t entry_gpa[5];
  int levels = 0;
  uint64_t entry = 0, leaf_size = 4096;
  const uint64_t rsvd_xd = nxe ? 0 : kXd;

  if (!pae) {  // 32-bit paging (SDM §4.3)
    const uint64_t pde_gpa = (st.cr3 & 0xfffff000ull) + ((la >> 22) & 0x3ff) * 4;
    const uint64_t pde = phys_read(pde_gpa, 4);
    if (!(pde & kPresent)) page_fault(0);
    entry_gpa[levels++] = pde_gpa;
    us &= (pde & kUs) != 0;
    rw &= (pde & kRw) != 0;
    if ((pde & kPs) && (st.cr4 & cr4::kPSE)) {  // 4 MiB page, PSE-36 bits 20:13 → 39:32
      if (pde & (1u << 21)) page_fault(kPfP | kPfRsvd);
      entry = pde;
      leaf_size = 4u << 20;
      const uint64_t base = (pde & 0xffc00000ull) | ((pde >> 13) & 0xffull) << 32;
      entry = (entry & 0xfff) | base;
    } else {
      const uint64_t pte_gpa = (pde & 0xfffff000ull) + ((la >> 12) & 0x3ff) * 4;
      entry = phys_read(pte_gpa, 4);
      if (!(entry & kPresent)) page_fault(0);
      entry_gpa[levels++] = pte_gpa;
    }
  } else {
    uint64_t table;
    int level;
    if (st.efer & efer::kLMA) {
      table = st.cr3 & kAddrMask;
      level = 4;
    } else {  // PAE: the PDPTE (SDM §4.4.1); read at walk time rather than cached at MOV CR3
      const uint64_t pdpte = phys_read((st.cr3 & 0xffffffe0ull) + ((la >> 30) & 3) * 8, 8);
      if (!(pdpte & kPresent)) page_fault(0);
      if (pdpte & (kHighReserved | 0x1e6)) page_fault(kPfP | kPfRsvd);
      table = pdpte & kAddrMask;
      level = 2;
    }
    for (;; --level) {
      const unsigned shift = 12 + 9 * (level - 1);
      const uint64_t e_gpa = table + ((la >> shift) & 0x1ff) * 8;
      const uint64_t e = phys_read(e_gpa, 8);
      if (!(e & kPresent)) page_fault(0);
      uint64_t rsvd = kHighReserved | rsvd_xd;
      if (level == 4) rsvd |= kPs;
      const bool large = level <= 3 && level >= 2 && (e & kPs);
      if (large) rsvd |= level == 3 ? 0x3fffe000ull : 0x1fe000ull;
      if (e & rsvd) page_fault(kPfP | kPfRsvd);
      entry_gpa[levels++] = e_gpa;
      us &= (e & kUs) != 0;
      rw &= (e & kRw) != 0;
      xd |= nxe && (e & kXd);
      if (level == 1 || large) {
        entry = e;
        leaf_size = 1ull << shift;
        break;
      }
      table = e & kAddrMask;
    }
  }
  // Permission checks (SDM §4.6): user needs U/S everywhere; writes need R/W everywhere for
  // user accesses, and for supervisor accesses only when CR0.WP = 1.
  if (user && !us) page_fault(kPfP);
  if (write && !rw && (user || (st.cr0 & cr0::kWP))) page_fault(kPfP);
  if (fetch && xd) page_fault(kPfP);
  // Accessed flags on every level, dirty on the leaf for writes (SDM §4.8).
  for (int i = 0; i < levels; ++i) {
    const bool leaf = i == levels - 1;
    const uint64_t bits = kAccessed | (leaf && write ? kDirty : 0);
    if (uint8_t* h = mem.host_address(entry_gpa[i])) {
      const uint64_t w = *reinterpret_cast<uint32_t*>(h);
      if ((w & bits) != bits)
        __atomic_fetch_or(reinterpret_cast<uint32_t*>(h), static_cast<uint32_t>(bits),
                          __ATOMIC_SEQ_CST);
    }
  }
  writable = rw || (!user && !(st.cr0 & cr0::kWP));
  nx = xd;
  global = (entry & kGlobal) && (st.cr4 & cr4::kPGE);
  const uint64_t frame = pae ? (entry & kAddrMask & ~(leaf_size - 1))
                             : (entry & ~0xfffull & ~(leaf_size - 1) & 0xffffffffffull);
  // A dirty-bit check for the TLB: the fast write path must not skip setting D.
  dirty_ = (entry & kDirty) || write;
  return frame | (la & (leaf_size - 1));
}

uint64_t Cpu::translate(uint64_t la, Access acc, bool user) {
  bool writable, nx, global;
  const uint64_t gpa = walk(la, acc, user, writable, nx, global);
  fill_tlb(la, gpa, acc, user, writable, dirty_, nx, global);
  return gpa;
}

void Cpu::fill_tlb(uint64_t la, uint64_t gpa, Access, bool user, bool writable, bool dirty, bool nx,
                   bool global) {
  uint8_t* host = mem.host_address(gpa & ~0xfffull);
  TlbEntry& e = tlb_[user][(la >> 12) & (kTlbSize - 1)];
  const uint64_t page = la & ~0xfffull;
  if (!host) {  // MMIO: every access takes the slow path
    reset_tlb_entry(e);
    return;
  }
  list_tlb_entry(e, global);
  e.host = host;
  e.addend = reinterpret_cast<uint64_t>(host) - page;
  e.gpa = gpa & ~0xfffull;
  e.global = global;
  const bool watched = data_bp_mask_ && page_has_data_bp(page);  // see debug.cpp
  e.tag[0] = watched ? 1 : page;
  e.tag[1] = (writable && dirty && !shared_code_->held(gpa >> 12) && !watched) ? page : 1;
  e.tag[2] = nx ? 1 : page;
}

void Cpu::list_tlb_entry(TlbEntry& e, bool global) {
  bool& listed = global ? e.listed_global : e.listed;
  if (listed) return;
  listed = true;
  // Never reallocates: an index is listed at most once per list (reserved in the constructor).
  (global ? tlb_global_filled_ : tlb_filled_).push_back(static_cast<uint16_t>(&e - &tlb_[0][0]));
}

void Cpu::flush_tlb(bool keep_global) {
  // RIP -> block mappings change only for non-global pages when globals are kept: the
  // indirect lookup drops just those and keeps the kernel's, instead of a new generation.
  if (keep_global && jit_forget_local_lookups())
    ++cr3_flushes_;
  else
    new_chain_gen();
  TlbEntry* all = &tlb_[0][0];
  if (!keep_global) {
    for (uint16_t i : tlb_filled_) all[i] = TlbEntry{};
    for (uint16_t i : tlb_global_filled_) all[i] = TlbEntry{};
    tlb_global_filled_.clear();
  } else {
    for (uint16_t i : tlb_filled_) {
      TlbEntry& e = all[i];
      // Refilled as global since it was listed here: it is in the global list as well.
      if (!e.global) reset_tlb_entry(e);
      e.listed = false;
    }
  }
  tlb_filled_.clear();
}

void Cpu::invlpg(uint64_t la) {
  if (maybe_fetched_page(la)) new_chain_gen();
  for (auto& t : tlb_) reset_tlb_entry(t[(la >> 12) & (kTlbSize - 1)]);
}

namespace {
// Fixed-size copies: a memcpy with a variable size is a library call.
uint64_t load_n(const uint8_t* p, unsigned size) {
  switch (size) {
    case 1:
      return *p;
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case 8: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
    default: {
      uint64_t v = 0;
      std::memcpy(&v, p, size);
      return v;
    }
  }
}
void store_n(uint8_t* p, unsigned size, uint64_t v) {
  switch (size) {
    case 1:
      *p = static_cast<uint8_t>(v);
      return;
    case 2: {
      const uint16_t w = static_cast<uint16_t>(v);
      std::memcpy(p, &w, 2);
      return;
    }
    case 4: {
      const uint32_t w = static_cast<uint32_t>(v);
      std::memcpy(p, &w, 4);
      return;
    }
    case 8:
      std::memcpy(p, &v, 8);
      return;
    default:
      std::memcpy(p, &v, size);
      return;
  }
}
}  // namespace

uint64_t Cpu::phys_read(uint64_t gpa, unsigned size) {
  if (const memory::Region* r = mem.region_of(gpa); r && size <= r->end() - gpa)
    return load_n(r->host + (gpa - r->gpa), size);
  uint8_t buf[8] = {};
  io.mmio_read(gpa, std::span<uint8_t>(buf, size));
  return bus::load_le(std::span<const uint8_t>(buf, size));
}

void Cpu::phys_write(uint64_t gpa, unsigned size, uint64_t v) {
  note_code_write(gpa, size);
  if (const memory::Region* r = mem.region_of(gpa); r && size <= r->end() - gpa)
    return store_n(r->host + (gpa - r->gpa), size, v);
  uint8_t buf[8];
  bus::store_le(std::span<uint8_t>(buf, size), v);
  io.mmio_write(gpa, std::span<const uint8_t>(buf, size));
}

uint64_t Cpu::read_slow(uint64_t la, unsigned size, bool user) {
  if (data_bp_mask_) check_data_bp(la, size, false);
  const unsigned first = std::min<unsigned>(size, 4096 - (la & 0xfff));
  const uint64_t g0 = translate(la, Access::kRead, user);
  if (first == size) return phys_read(g0, size);
  // Split across two pages: both translations happen before any access (SDM: the access
  // faults as a whole), and each part goes to RAM or MMIO on its own.
  const uint64_t g1 = translate(la + first, Access::kRead, user);
  const uint64_t lo = phys_read(g0, first), hi = phys_read(g1, size - first);
  return lo | hi << (8 * first);
}

void Cpu::write_slow(uint64_t la, unsigned size, uint64_t v, bool user) {
  if (data_bp_mask_) check_data_bp(la, size, true);
  const unsigned first = std::min<unsigned>(size, 4096 - (la & 0xfff));
  const uint64_t g0 = translate(la, Access::kWrite, user);
  if (first == size) return phys_write(g0, size, v);
  const uint64_t g1 = translate(la + first, Access::kWrite, user);
  phys_write(g0, first, v);
  phys_write(g1, size - first, v >> (8 * first));
}

void Cpu::probe_write(int seg, uint64_t off, unsigned size) {
  const uint64_t la = linear(seg, off, size, Access::kWrite);
  const bool user = cpl() == 3;
  translate(la, Access::kWrite, user);
  const unsigned first = std::min<unsigned>(size, 4096 - (la & 0xfff));
  if (first < size) translate(la + first, Access::kWrite, user);
}

uint8_t* Cpu::host_for_write(uint64_t la, unsigned size, bool user) {
  if ((la & 0xfff) + size > 4096) return nullptr;
  if (data_bp_mask_) check_data_bp(la, size, true);
  const uint64_t gpa = translate(la, Access::kWrite, user);
  note_code_write(gpa, size);
  const memory::Region* r = mem.region_of(gpa);
  if (!r || size > r->end() - gpa) return nullptr;
  return r->host + (gpa - r->gpa);
}

}  // namespace vessel::engine::emu
