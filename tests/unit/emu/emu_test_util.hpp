// Test helpers for the software CPU: assemble snippets with nasm at test time, a recording
// IoHandler, and ready-made long-mode state (GDT, identity page tables, IDT).
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "engine/emu/cpu.hpp"

namespace vessel::engine::emu::test {

inline std::vector<uint8_t> assemble(int bits, const std::string& src, uint64_t org = 0) {
  char dir[] = "/tmp/emu_test_XXXXXX";
  if (!mkdtemp(dir)) return {};
  const std::string asm_path = std::string(dir) + "/a.asm", bin = std::string(dir) + "/a.bin";
  std::ofstream(asm_path) << "bits " << bits << "\norg " << org << "\n" << src << "\n";
  const std::string cmd = "nasm -f bin -o " + bin + " " + asm_path;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "nasm failed on:\n" << src;
  std::ifstream in(bin, std::ios::binary);
  std::vector<uint8_t> out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(asm_path.c_str());
  std::remove(bin.c_str());
  rmdir(dir);
  return out;
}

struct FakeIo : bus::IoHandler {
  std::string port_out;  // bytes written to any port, in order
  std::vector<std::pair<uint16_t, uint64_t>> pio_writes;
  std::vector<std::pair<uint64_t, uint64_t>> mmio_writes;
  std::map<uint64_t, uint64_t> mmio_values;
  uint64_t pio_value = 0x5a;
  void pio_read(uint16_t, std::span<uint8_t> d) override { bus::store_le(d, pio_value); }
  void pio_write(uint16_t port, std::span<const uint8_t> d) override {
    pio_writes.emplace_back(port, bus::load_le(d));
    port_out.push_back(static_cast<char>(d[0]));
  }
  void mmio_read(uint64_t gpa, std::span<uint8_t> d) override {
    bus::store_le(d, mmio_values.count(gpa) ? mmio_values[gpa] : 0x11223344);
  }
  void mmio_write(uint64_t gpa, std::span<const uint8_t> d) override {
    mmio_writes.emplace_back(gpa, bus::load_le(d));
  }
};

// Fixed layout for long-mode tests.
inline constexpr uint64_t kGdt = 0x1000, kIdt = 0x2000, kTss = 0x3000, kPml4 = 0x10000,
                          kCode = 0x100000, kStack = 0x80000, kHandlers = 0x200000;

struct Env {
  memory::GuestMemory mem;
  FakeIo io;
  Cpu cpu;
  explicit Env(uint64_t ram = 64ull << 20)
      : mem(memory::GuestMemory::create(ram).value()), cpu(mem, io) {}
  void load(uint64_t gpa, const std::vector<uint8_t>& bytes) {
    ASSERT_TRUE(mem.write(gpa, bytes).has_value());
  }
  template <class T>
  T peek(uint64_t gpa) {
    return mem.read_obj<T>(gpa).value();
  }
  template <class T>
  void poke(uint64_t gpa, T v) {
    ASSERT_TRUE(mem.write_obj(gpa, v).has_value());
  }
  arch::CpuState& st() { return cpu.state(); }

  // GDT: 0x08 code64 DPL0, 0x10 data DPL0, 0x18 code32 DPL0, 0x20 data DPL3, 0x28 code64 DPL3,
  // 0x30 code32 DPL3, 0x38 64-bit TSS (16 bytes).
  void setup_gdt() {
    const uint64_t d[] = {0,
                          0x00af9b000000ffff,
                          0x00cf93000000ffff,
                          0x00cf9b000000ffff,
                          0x00cff3000000ffff,
                          0x00affb000000ffff,
                          0x00cffb000000ffff};
    for (size_t i = 0; i < std::size(d); ++i) poke<uint64_t>(kGdt + 8 * i, d[i]);
    const uint64_t tss =
        (0x67ull) | ((kTss & 0xffffff) << 16) | (0x89ull << 40) | (((kTss >> 24) & 0xff) << 56);
    poke<uint64_t>(kGdt + 0x38, tss);
    poke<uint64_t>(kGdt + 0x40, kTss >> 32);
  }
  // Identity-maps the first 1 GiB with 2 MiB pages (user, writable).
  void setup_paging() {
    poke<uint64_t>(kPml4, (kPml4 + 0x1000) | 7);
    poke<uint64_t>(kPml4 + 0x1000, (kPml4 + 0x2000) | 7);
    for (uint64_t i = 0; i < 512; ++i) poke<uint64_t>(kPml4 + 0x2000 + 8 * i, (i << 21) | 0x87);
  }
  // A 64-bit interrupt gate for `vector` to `target` (selector 0x08, DPL `dpl`, IST `ist`).
  void set_gate(unsigned vector, uint64_t target, unsigned dpl = 0, unsigned ist = 0) {
    const uint64_t lo = (target & 0xffff) | (0x08ull << 16) | (uint64_t(ist) << 32) |
                        ((0x8eull | (dpl << 5)) << 40) | (((target >> 16) & 0xffff) << 48);
    poke<uint64_t>(kIdt + 16 * vector, lo);
    poke<uint64_t>(kIdt + 16 * vector + 8, target >> 32);
  }
  void long_mode(uint64_t rip) {
    setup_gdt();
    setup_paging();
    auto& s = st();
    s = arch::reset_state();
    s.cr0 = arch::cr0::kPE | arch::cr0::kPG | arch::cr0::kET | arch::cr0::kWP;
    s.cr4 = arch::cr4::kPAE | arch::cr4::kPGE;
    s.cr3 = kPml4;
    s.efer = arch::efer::kLME | arch::efer::kLMA | arch::efer::kNXE | arch::efer::kSCE;
    s.gdt = {kGdt, 0x47};
    s.idt = {kIdt, 0xfff};
    auto seg = [](uint16_t sel, uint8_t type, bool l, uint8_t dpl) {
      arch::Segment g;
      g.selector = sel;
      g.limit = 0xffffffff;
      g.type = type;
      g.l = l;
      g.db = !l;
      g.g = true;
      g.dpl = dpl;
      return g;
    };
    s.seg[arch::kCs] = seg(0x08, 0xb, true, 0);
    for (int i : {arch::kDs, arch::kEs, arch::kSs, arch::kFs, arch::kGs})
      s.seg[i] = seg(0x10, 0x3, false, 0);
    s.seg[arch::kTr] = arch::Segment{0x38, kTss, 0x67, 0xb, false, 0, true};
    s.gpr[arch::kRdx] = 0;
    s.gpr[arch::kRsp] = kStack;
    s.rip = rip;
    cpu.state_changed();
  }
  StopReason run_code(const std::string& src, uint64_t max = 100000) {
    load(kCode, assemble(64, src, kCode));
    return cpu.run(max);
  }
};

}  // namespace vessel::engine::emu::test
