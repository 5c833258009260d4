// The code cache: decoded blocks keyed by guest-physical address and decoding mode, so each
// instruction is decoded once. A block ends at control flow, at an instruction that changes
// mode or interrupt state, after kMaxBlockInsts, or before an instruction crossing its page;
// such an instruction is a block of its own, registered on both pages and checked against the
// second page's current mapping each time the run loop enters it (as a TLB would).
// Writes to a page that holds decoded code (code_pages_, checked on the slow write path; the
// TLB never gives such a page a fast write tag) drop the blocks whose bytes they overwrite.
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

// A block's key in blocks_ (and crossing_tails_, page_blocks_' lists).
uint64_t block_key(uint64_t gpa, x86::CodeMode mode) {
  return gpa << 2 | static_cast<uint64_t>(mode);
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
  const uint64_t gpa = fetch_gpa(la, cpl() == 3);
  note_fetched_page(la);
  const uint64_t key = block_key(gpa, mode);
  Block*& slot = jump_cache_[(gpa ^ (gpa >> 10)) & (jump_cache_.size() - 1)];
  Block* b = slot && slot->gpa == gpa && slot->mode == mode ? slot : nullptr;
  if (!b) {
    std::unique_ptr<Block>* found = blocks_.find(key);
    b = found ? found->get() : decode_block(gpa, la, mode);
  }
  if (b->crosses) [[unlikely]]
    b = checked_crossing(b, la);
  return slot = b;
}

uint64_t Cpu::fetch_gpa(uint64_t la, bool user) {
  const TlbEntry& e = tlb_[user][(la >> 12) & (kTlbSize - 1)];
  if (e.tag[2] == (la & ~0xfffull)) return e.gpa | (la & 0xfff);
  const uint64_t gpa = translate(la, Access::kFetch, user);
  if (!mem.host_address(gpa))
    fatal(fmt::format("instruction fetch from MMIO at guest-physical {:#x} (rip {:#x})", gpa,
                      st.rip));
  return gpa;
}

Cpu::Block* Cpu::decode_block(uint64_t gpa, uint64_t la, x86::CodeMode mode) {
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
      return decode_crossing(gpa, la, mode);
    }
    if (status == x86::DecodeStatus::kInvalid) {
      if (!insts.empty()) break;  // #UD when execution reaches it, not before
      raise(vec::kUD);
    }
    insts.push_back(inst);
    at += inst.length;
    if (inst.flags & x86::iflag::kEndsBlock) break;
  }
  auto block = std::make_unique<Block>();
  block->gpa = gpa;
  block->mode = mode;
  block->size = static_cast<uint8_t>(insts.size());
  block->insts = std::make_unique_for_overwrite<x86::DecodedInst[]>(insts.size());
  std::copy(insts.begin(), insts.end(), block->insts.get());
  block->chainable = !insts.empty() && x86::keeps_code_segment(insts.back());
  block->bytes = static_cast<uint16_t>(at - gpa);
  const uint64_t key = block_key(gpa, mode);
  add_code(gpa >> 12, key, gpa & 0xfff, (gpa & 0xfff) + block->bytes);
  return insert_block(std::move(block));
}

std::array<uint8_t, 15> Cpu::crossing_bytes(uint64_t gpa, uint64_t tail_gpa) {
  std::array<uint8_t, 15> bytes{};
  const unsigned head = static_cast<unsigned>(((gpa | 0xfff) + 1) - gpa);
  for (unsigned i = 0; i < bytes.size(); ++i) {
    const uint64_t at = i < head ? gpa + i : tail_gpa + (i - head);
    const uint8_t* h = mem.host_address(at);
    if (!h) fatal(fmt::format("instruction fetch from MMIO at guest-physical {:#x}", at));
    bytes[i] = *h;
  }
  return bytes;
}

Cpu::Block* Cpu::decode_crossing(uint64_t gpa, uint64_t la, x86::CodeMode mode) {
  // The tail comes through the next page's translation, which may #PF (CR2 = its address).
  const uint64_t tail_gpa = fetch_gpa((la | 0xfff) + 1, cpl() == 3);
  const std::array<uint8_t, 15> bytes = crossing_bytes(gpa, tail_gpa);
  auto block = std::make_unique<Block>();
  block->gpa = gpa;
  block->mode = mode;
  block->size = 1;
  block->crosses = true;
  block->insts = std::make_unique_for_overwrite<x86::DecodedInst[]>(1);
  if (decoder_.decode(mode, bytes.data(), bytes.size(), block->insts[0]) != x86::DecodeStatus::kOk)
    raise(vec::kUD);
  block->chainable = x86::keeps_code_segment(block->insts[0]);
  const unsigned head = static_cast<unsigned>(((gpa | 0xfff) + 1) - gpa);
  block->bytes = static_cast<uint16_t>(head);
  const uint64_t key = block_key(gpa, mode);
  crossing_tails_[key] = tail_gpa;
  add_code(gpa >> 12, key, 4096 - head, 4096);
  add_code(tail_gpa >> 12, key, 0, block->insts[0].length - head);
  return insert_block(std::move(block));
}

Cpu::Block* Cpu::checked_crossing(Block* b, uint64_t la) {
  const uint64_t key = block_key(b->gpa, b->mode);
  const uint64_t tail_gpa = fetch_gpa((la | 0xfff) + 1, cpl() == 3);
  note_fetched_page((la | 0xfff) + 1);
  const auto it = crossing_tails_.find(key);
  if (it != crossing_tails_.end() && it->second == tail_gpa) return b;
  // The next page maps elsewhere now (same head page, another linear neighbour): this block
  // is not the instruction at RIP.
  const uint64_t gpa = b->gpa;
  const x86::CodeMode mode = b->mode;
  drop_block(key);
  unlink_dropped_blocks();
  return decode_crossing(gpa, la, mode);
}

void Cpu::add_code(uint64_t page, uint64_t key, unsigned from, unsigned to) {
  mark_code_page(page << 12);
  PageCode& code = page_blocks_[page];
  code.keys.push_back(key);
  for (unsigned c = from / 64; c <= (to - 1) / 64; ++c) code.chunks |= 1ull << c;
}

Cpu::Block* Cpu::insert_block(std::unique_ptr<Block> block) {
  const uint64_t key = block_key(block->gpa, block->mode);
  if (--blocks_until_sweep_ == 0) {
    blocks_until_sweep_ = kSweepPeriod;
    sweep_decoded();
  }
  holding_insts_.push_back(key);
  return blocks_.insert(key, std::move(block)).get();
}

void Cpu::redecode(Block* b) {
  // The page holds the bytes the block was decoded from (a write to them drops the block), so
  // the same instructions come out; except when another vCPU's unsynchronized write to the
  // page is not applied yet (it is at the next block boundary): then the block is cut before
  // what changed, as a fresh decode would cut it, and is #UD if nothing of it is left.
  holding_insts_.push_back(block_key(b->gpa, b->mode));
  if (b->crosses) return redecode_crossing(b);
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

void Cpu::redecode_crossing(Block* b) {
  const auto it = crossing_tails_.find(block_key(b->gpa, b->mode));
  if (it == crossing_tails_.end()) raise(vec::kUD);  // not reached: every crossing block has one
  const std::array<uint8_t, 15> bytes = crossing_bytes(b->gpa, it->second);
  auto insts = std::make_unique_for_overwrite<x86::DecodedInst[]>(1);
  if (decoder_.decode(b->mode, bytes.data(), bytes.size(), insts[0]) != x86::DecodeStatus::kOk)
    raise(vec::kUD);
  b->insts = std::move(insts);
}

void Cpu::sweep_decoded() {
  // At a block boundary (from block_at_rip): no instruction of a cached block is running.
  const uint32_t sweep = ++sweeps_;
  std::erase_if(holding_insts_, [&](uint64_t key) {
    std::unique_ptr<Block>* found = blocks_.find(key);
    if (!found || !(*found)->insts) return true;  // gone, or translated since
    Block& b = **found;
    if (b.swept == sweep) return true;  // listed twice: seen already
    b.swept = sweep;
    if (!b.insts_used) {
      b.insts.reset();
      return true;
    }
    b.insts_used = false;
    return false;
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

bool Cpu::drop_block(uint64_t key) {
  std::unique_ptr<Block> b = blocks_.take(key);
  if (!b) return false;
  uint64_t pages[2] = {b->gpa >> 12, b->gpa >> 12};
  if (b->crosses) {
    pages[1] = crossing_tails_[key] >> 12;
    crossing_tails_.erase(key);
  }
  for (uint64_t page : pages) {
    const auto it = page_blocks_.find(page);
    if (it == page_blocks_.end()) continue;
    std::erase(it->second.keys, key);
    if (!it->second.keys.empty()) continue;
    page_blocks_.erase(it);
    code_pages_[page] = 0;
    shared_code_->remove(page, index_);
  }
  jit_forget(b.get());
  // The running block may be this one: keep it alive until the next block boundary.
  dead_blocks_.push_back(std::move(b));
  return true;
}

void Cpu::unlink_dropped_blocks() {
  jump_cache_.fill(nullptr);
  ++drops_;
  end_block = true;
}

void Cpu::invalidate_code_page(uint64_t page) {
  if (auto it = page_blocks_.find(page); it != page_blocks_.end()) {
    const std::vector<uint64_t> keys = it->second.keys;  // drop_block edits the list
    for (uint64_t key : keys) drop_block(key);
  }
  code_pages_[page] = 0;
  shared_code_->remove(page, index_);
  unlink_dropped_blocks();
}

void Cpu::invalidate_code_range(uint64_t gpa, unsigned size) {
  const uint64_t page = gpa >> 12;
  const auto it = page_blocks_.find(page);
  if (it == page_blocks_.end()) return invalidate_code_page(page);
  const unsigned from = gpa & 0xfff, to = std::min(from + size, 4096u);
  if (to <= from) return;
  uint64_t chunks = 0;
  for (unsigned c = from / 64; c <= (to - 1) / 64; ++c) chunks |= 1ull << c;
  if (!(it->second.chunks & chunks)) return;  // data next to the code
  std::vector<uint64_t> hit;
  for (uint64_t key : it->second.keys) {
    const std::unique_ptr<Block>* b = blocks_.find(key);
    if (!b) continue;
    const Block& blk = **b;
    // A crossing block's bytes on its tail page are few: any write to the page's code drops it.
    const bool overlaps = blk.crosses || (gpa < blk.gpa + blk.bytes && blk.gpa < gpa + size);
    if (overlaps) hit.push_back(key);
  }
  if (hit.empty()) return;
  for (uint64_t key : hit) drop_block(key);
  unlink_dropped_blocks();
}

void Cpu::forget_device_written_code() {
  const uint64_t pages = code_pages_.size();
  const bool complete =
      mem.device_writes().read_since(device_writes_seen_, [&](memory::DeviceWriteLog::Range r) {
        const uint64_t first = r.gpa >> 12;
        if (first >= pages) return;
        const uint64_t last = std::min((r.gpa + r.len - 1) >> 12, pages - 1);
        for (uint64_t p = first; p <= last; ++p) {
          if (!code_pages_[p]) continue;
          const uint64_t from = std::max(r.gpa, p << 12),
                         to = std::min(r.gpa + r.len, (p + 1) << 12);
          invalidate_code_range(from, static_cast<unsigned>(to - from));
        }
      });
  if (!complete)
    for (uint64_t p = 0; p < pages; ++p)
      if (code_pages_[p]) invalidate_code_page(p);
}

void Cpu::note_code_write(uint64_t gpa, unsigned size) {
  if (is_code_page(gpa)) invalidate_code_range(gpa, size);
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
