// The code cache: decoded blocks keyed by guest-physical address and decoding mode, so each
// instruction is decoded once. A block ends at control flow, at an instruction that changes
// mode or interrupt state, after kMaxBlockInsts, or before an instruction crossing its page.
// Writes to a page that holds decoded code (code_pages_, checked on the slow write path; the
// TLB never gives such a page a fast write tag) drop every block on it.
#include <fmt/format.h>
#include <algorithm>

#include "engine/emu/cpu.hpp"
#include "x86/decode/branch.hpp"

namespace vessel::engine::emu {

using namespace arch;

namespace {
x86::CodeMode code_mode(const CpuState& s) {
  const Segment& cs = s.seg[kCs];
  if ((s.efer & efer::kLMA) && cs.l) return x86::CodeMode::k64;
  if ((s.cr0 & cr0::kPE) && cs.db && !(s.rflags & rflags::kVM)) return x86::CodeMode::k32;
  return x86::CodeMode::k16;
}

}  // namespace

Cpu::Block* Cpu::block_at_rip() {
  dead_blocks_.clear();
  const x86::CodeMode mode = code_mode(st);
  // Instruction fetch: CS limit checks (SDM Vol. 3A §5.3) outside 64-bit mode.
  uint64_t la;
  if (mode == x86::CodeMode::k64) {
    la = st.rip;
    const uint64_t hi = la >> 47;
    if (hi != 0 && hi != 0x1ffff) raise(vec::kGP, 0);
  } else {
    if (protected_mode() && st.rip > st.seg[kCs].limit) raise(vec::kGP, 0);
    la = (st.seg[kCs].base + st.rip) & 0xffffffffull;
  }
  const bool user = cpl() == 3;
  const TlbEntry& e = tlb_[user][(la >> 12) & (kTlbSize - 1)];
  uint64_t gpa;
  if (e.tag[2] == (la & ~0xfffull)) {
    gpa = e.gpa | (la & 0xfff);
  } else {
    gpa = translate(la, Access::kFetch, user);
    if (!mem.host_address(gpa))
      fatal(fmt::format("instruction fetch from MMIO at guest-physical {:#x} (rip {:#x})", gpa,
                        st.rip));
  }
  const uint64_t key = gpa << 2 | static_cast<uint64_t>(mode);
  Block*& slot = jump_cache_[(gpa ^ (gpa >> 10)) & (jump_cache_.size() - 1)];
  if (slot && slot->gpa == gpa && slot->mode == mode) return slot;
  if (std::unique_ptr<Block>* b = blocks_.find(key)) return slot = b->get();
  Block* b = decode_block(gpa, la, mode);
  if (b != &single_) slot = b;
  return b;
}

Cpu::Block* Cpu::decode_block(uint64_t gpa, uint64_t la, x86::CodeMode mode) {
  auto block = std::make_unique<Block>();
  block->gpa = gpa;
  block->mode = mode;
  const memory::Region* region = mem.region_of(gpa);
  const uint64_t page_end = (gpa | 0xfff) + 1;
  const uint64_t limit = std::min(page_end, region->end());
  uint64_t at = gpa;
  // Decoded into a reused buffer, then copied into one allocation of their exact size: a boot
  // holds tens of thousands of blocks.
  std::vector<x86::DecodedInst>& insts = decode_scratch_;
  insts.clear();
  while (insts.size() < kMaxBlockInsts && at < limit) {
    x86::DecodedInst inst;
    const auto status = decoder_.decode(mode, region->host + (at - region->gpa), limit - at, inst);
    if (status == x86::DecodeStatus::kNeedMore) {
      if (!insts.empty()) break;  // the crossing instruction starts the next block
      // The first instruction crosses the page: fetch its tail through the next page's
      // translation (which may #PF) and decode it uncached.
      uint8_t bytes[15];
      const unsigned head = static_cast<unsigned>(limit - at);
      std::memcpy(bytes, region->host + (at - region->gpa), head);
      const uint64_t la2 = (la | 0xfff) + 1;
      const uint64_t gpa2 = translate(la2, Access::kFetch, cpl() == 3);
      for (unsigned i = head; i < 15; ++i) {
        uint8_t* h = mem.host_address(gpa2 + (i - head));
        if (!h) fatal(fmt::format("instruction fetch from MMIO at guest-physical {:#x}", gpa2));
        bytes[i] = *h;
      }
      single_.gpa = ~0ull;
      single_.mode = mode;  // sets the RIP width the run loop uses
      single_.size = 1;
      if (!single_.insts) single_.insts = std::make_unique<x86::DecodedInst[]>(1);
      if (decoder_.decode(mode, bytes, 15, single_.insts[0]) != x86::DecodeStatus::kOk)
        raise(vec::kUD);
      return &single_;
    }
    if (status == x86::DecodeStatus::kInvalid) {
      if (!insts.empty()) break;  // #UD when execution reaches it, not before
      raise(vec::kUD);
    }
    insts.push_back(inst);
    at += inst.length;
    if (inst.flags & x86::iflag::kEndsBlock) break;
  }
  block->size = static_cast<uint8_t>(insts.size());
  block->insts = std::make_unique_for_overwrite<x86::DecodedInst[]>(insts.size());
  std::copy(insts.begin(), insts.end(), block->insts.get());
  block->chainable = !insts.empty() && x86::keeps_code_segment(insts.back());
  mark_code_page(gpa);
  const uint64_t key = gpa << 2 | static_cast<uint64_t>(mode);
  page_blocks_[gpa >> 12].push_back(key);
  if (--blocks_until_sweep_ == 0) {
    blocks_until_sweep_ = kSweepPeriod;
    sweep_decoded();
  }
  return blocks_.insert(key, std::move(block)).get();
}

void Cpu::redecode(Block* b) {
  // The page holds the bytes the block was decoded from (a write to them drops the block), so
  // the same instructions come out; except when another vCPU's unsynchronized write to the
  // page is not applied yet (it is at the next block boundary): then the block is cut before
  // what changed, as a fresh decode would cut it, and is #UD if nothing of it is left.
  const memory::Region* region = mem.region_of(b->gpa);
  const uint64_t limit = std::min((b->gpa | 0xfff) + 1, region->end());
  auto insts = std::make_unique_for_overwrite<x86::DecodedInst[]>(b->size);
  uint64_t at = b->gpa;
  unsigned n = 0;
  while (n < b->size) {
    x86::DecodedInst& inst = insts[n];
    if (decoder_.decode(b->mode, region->host + (at - region->gpa), limit - at, inst) !=
        x86::DecodeStatus::kOk)
      break;
    ++n;
    at += inst.length;
    if ((inst.flags & x86::iflag::kEndsBlock) && n < b->size) break;
  }
  if (n == 0) raise(vec::kUD);
  if (n < b->size) {
    b->size = static_cast<uint8_t>(n);
    b->chainable = b->chainable && x86::keeps_code_segment(insts[n - 1]);
  }
  b->insts = std::move(insts);
}

void Cpu::sweep_decoded() {
  // At a block boundary (from block_at_rip): no instruction of a cached block is running.
  blocks_.for_each([](uint64_t, std::unique_ptr<Block>& b) {
    if (!b->insts_used) b->insts.reset();
    b->insts_used = false;
  });
}

void Cpu::mark_code_page(uint64_t gpa) {
  const uint64_t page = gpa >> 12;
  if (page >= code_pages_.size()) code_pages_.resize(page + 1, 0);
  if (code_pages_[page]) return;
  code_pages_[page] = 1;
  // Our own new mark needs no TLB scan of ours (done below); another vCPU's does.
  if (shared_code_->add(page, index_) == code_marks_seen_) ++code_marks_seen_;
  // Take the page's fast write path away so the next write comes to the slow path.
  for_each_filled_tlb_entry([&](TlbEntry& e) {
    if (e.host && e.gpa == (gpa & ~0xfffull)) e.tag[1] = 1;
  });
}

void Cpu::invalidate_code_page(uint64_t page) {
  code_pages_[page] = 0;
  shared_code_->remove(page, index_);
  if (auto it = page_blocks_.find(page); it != page_blocks_.end()) {
    for (uint64_t key : it->second) {
      if (std::unique_ptr<Block> b = blocks_.take(key)) {
        jit_forget(b.get());
        // The running block may be this one: keep it alive until the next block boundary.
        dead_blocks_.push_back(std::move(b));
      }
    }
    page_blocks_.erase(it);
  }
  jump_cache_.fill(nullptr);
  ++chain_gen_;
  end_block = true;
}

void Cpu::forget_device_written_code() {
  const uint64_t pages = code_pages_.size();
  const bool complete =
      mem.device_writes().read_since(device_writes_seen_, [&](memory::DeviceWriteLog::Range r) {
        const uint64_t first = r.gpa >> 12;
        if (first >= pages) return;
        const uint64_t last = std::min((r.gpa + r.len - 1) >> 12, pages - 1);
        for (uint64_t p = first; p <= last; ++p)
          if (code_pages_[p]) invalidate_code_page(p);
      });
  if (!complete)
    for (uint64_t p = 0; p < pages; ++p)
      if (code_pages_[p]) invalidate_code_page(p);
}

void Cpu::note_code_write(uint64_t gpa, unsigned size) {
  if (is_code_page(gpa)) invalidate_code_page(gpa >> 12);
  if (shared_code_->held_by_others(gpa >> 12, index_)) mem.note_device_write(gpa, size);
}

void Cpu::withdraw_shared_write_paths() {
  code_marks_seen_ = shared_code_->marks();
  for_each_filled_tlb_entry([&](TlbEntry& e) {
    if (e.host && e.tag[1] != 1 && shared_code_->held(e.gpa >> 12)) e.tag[1] = 1;
  });
}

void Cpu::share_code_pages(std::shared_ptr<SharedCodePages> pages) {
  // Called before the vCPU runs: nothing of ours is in the old map worth carrying over.
  for (uint64_t p = 0; p < code_pages_.size(); ++p)
    if (code_pages_[p]) invalidate_code_page(p);
  shared_code_ = std::move(pages);
  code_marks_seen_ = shared_code_->marks();
  flush_tlb(false);
}

}  // namespace vessel::engine::emu
