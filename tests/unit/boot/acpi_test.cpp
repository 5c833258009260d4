// Parses back the ACPI and MP tables written into guest memory: signatures, lengths, checksums,
// the pointers between tables, and the MADT/MP entries a kernel relies on.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "boot/acpi/acpi.hpp"
#include "boot/acpi/sdt.hpp"
#include "boot/acpi/tables.hpp"
#include "boot/byte_writer.hpp"
#include "boot/layout.hpp"
#include "boot/mptable.hpp"

namespace vessel::boot {
namespace {

class AcpiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = memory::GuestMemory::create(64 << 20);
    ASSERT_TRUE(m.has_value());
    mem_.emplace(std::move(*m));
  }
  std::vector<uint8_t> bytes(uint64_t gpa, size_t n) {
    std::vector<uint8_t> v(n);
    EXPECT_TRUE(mem_->read(gpa, v).has_value());
    return v;
  }
  uint64_t le(uint64_t gpa, size_t n) { return read_le(bytes(gpa, n), 0, n); }
  std::string sig(uint64_t gpa, size_t n = 4) {
    auto b = bytes(gpa, n);
    return std::string(b.begin(), b.end());
  }
  // A table: signature check, whole-table checksum, returns its bytes.
  std::vector<uint8_t> table(uint64_t gpa, const std::string& signature) {
    EXPECT_EQ(sig(gpa), signature);
    const uint32_t len = uint32_t(le(gpa + 4, 4));
    EXPECT_GE(len, acpi::kHeaderSize);
    auto t = bytes(gpa, len);
    uint8_t sum = 0;
    for (uint8_t b : t) sum = uint8_t(sum + b);
    EXPECT_EQ(sum, 0) << signature << " checksum";
    return t;
  }
  std::optional<memory::GuestMemory> mem_;
};

TEST_F(AcpiTest, RsdpXsdtAndRsdtPointToTheSameChecksummedTables) {
  auto rsdp = acpi::write_acpi_tables(*mem_, {.vcpus = 2});
  ASSERT_TRUE(rsdp.has_value()) << rsdp.error().message;
  EXPECT_EQ(*rsdp, layout::kAcpiTables);
  EXPECT_EQ(*rsdp % 16, 0u);
  EXPECT_EQ(sig(*rsdp, 8), "RSD PTR ");
  auto r = bytes(*rsdp, acpi::kRsdpSize);
  EXPECT_EQ(checksum_byte(std::span(r).first(20)), 0);
  EXPECT_EQ(checksum_byte(r), 0);
  EXPECT_EQ(r[15], 2);
  EXPECT_EQ(read_le(r, 20, 4), acpi::kRsdpSize);

  auto xsdt = table(read_le(r, 24, 8), "XSDT");
  auto rsdt = table(read_le(r, 16, 4), "RSDT");
  ASSERT_EQ((xsdt.size() - acpi::kHeaderSize) / 8, 2u);
  ASSERT_EQ((rsdt.size() - acpi::kHeaderSize) / 4, 2u);
  std::vector<std::string> found;
  for (size_t i = 0; i < 2; ++i) {
    const uint64_t addr = read_le(xsdt, acpi::kHeaderSize + 8 * i, 8);
    EXPECT_EQ(addr, read_le(rsdt, acpi::kHeaderSize + 4 * i, 4));
    EXPECT_GE(addr, layout::kAcpiTables);
    EXPECT_LT(addr, layout::kAcpiTablesEnd);
    found.push_back(sig(addr));
  }
  EXPECT_EQ(found, (std::vector<std::string>{"FACP", "APIC"}));
}

TEST_F(AcpiTest, FadtDescribesPmBlockResetRegisterAndDsdtWithS5) {
  auto rsdp = acpi::write_acpi_tables(*mem_, {.vcpus = 1});
  ASSERT_TRUE(rsdp.has_value());
  const uint64_t fadt_addr = le(le(*rsdp + 24, 8) + acpi::kHeaderSize, 8);
  auto f = table(fadt_addr, "FACP");
  EXPECT_EQ(f.size(), acpi::kFadtSize);
  EXPECT_EQ(f[8], 6);                    // revision
  EXPECT_EQ(read_le(f, 46, 2), 9u);      // SCI_INT
  EXPECT_EQ(read_le(f, 48, 4), 0u);      // SMI_CMD: always in ACPI mode
  EXPECT_EQ(read_le(f, 56, 4), 0x600u);  // PM1a_EVT_BLK
  EXPECT_EQ(read_le(f, 64, 4), 0x604u);  // PM1a_CNT_BLK
  EXPECT_EQ(read_le(f, 76, 4), 0x608u);  // PM_TMR_BLK
  EXPECT_EQ(f[88], 4);
  EXPECT_EQ(f[89], 2);
  EXPECT_EQ(f[91], 4);
  const uint32_t flags = uint32_t(read_le(f, 112, 4));
  EXPECT_TRUE(flags & (1u << 10)) << "RESET_REG_SUP";
  EXPECT_FALSE(flags & (1u << 20)) << "not HW_REDUCED_ACPI";
  EXPECT_EQ(f[116], 1);  // RESET_REG in system I/O space
  EXPECT_EQ(read_le(f, 120, 8), 0xcf9u);
  EXPECT_EQ(f[128], 0x06);
  EXPECT_EQ(read_le(f, 148 + 4, 8), 0x600u);  // X_PM1a_EVT_BLK agrees with the 32-bit field
  EXPECT_EQ(read_le(f, 172 + 4, 8), 0x604u);
  EXPECT_EQ(read_le(f, 208 + 4, 8), 0x608u);

  const uint64_t facs = read_le(f, 36, 4);
  EXPECT_EQ(facs % 64, 0u);
  EXPECT_EQ(sig(facs), "FACS");
  EXPECT_EQ(le(facs + 4, 4), acpi::kFacsSize);

  const uint64_t dsdt_addr = read_le(f, 40, 4);
  EXPECT_EQ(read_le(f, 140, 8), dsdt_addr);  // X_DSDT
  auto d = table(dsdt_addr, "DSDT");
  const std::vector<uint8_t> aml(d.begin() + acpi::kHeaderSize, d.end());
  // Name(\_S5_, Package(4) {5, 5, 0, 0}): decode by hand, byte by byte.
  ASSERT_GE(aml.size(), 15u);
  EXPECT_EQ(aml[0], 0x08);  // NameOp
  EXPECT_EQ(std::string(aml.begin() + 1, aml.begin() + 6), "\\_S5_");
  EXPECT_EQ(aml[6], 0x12);                 // PackageOp
  EXPECT_EQ(aml[7], aml.size() - 7);       // PkgLength covers the rest of the package
  EXPECT_EQ(aml[8], 4);                    // NumElements
  EXPECT_EQ(aml[9], 0x0a);                 // BytePrefix
  EXPECT_EQ(aml[10], acpi::kS5SleepType);  // SLP_TYPa
  EXPECT_EQ(aml[12], acpi::kS5SleepType);  // SLP_TYPb
}

TEST_F(AcpiTest, MadtListsEveryCpuTheIoApicAndOverrides) {
  constexpr unsigned kVcpus = 4;
  auto rsdp = acpi::write_acpi_tables(*mem_, {.vcpus = kVcpus});
  ASSERT_TRUE(rsdp.has_value());
  const uint64_t madt_addr = le(le(*rsdp + 24, 8) + acpi::kHeaderSize + 8, 8);
  auto m = table(madt_addr, "APIC");
  EXPECT_EQ(read_le(m, 36, 4), layout::kLocalApicAddress);
  EXPECT_EQ(read_le(m, 40, 4), 1u);  // PCAT_COMPAT
  std::vector<unsigned> apic_ids;
  int ioapics = 0, nmis = 0;
  std::vector<std::pair<unsigned, unsigned>> overrides;  // (irq, gsi)
  uint16_t sci_flags = 0;
  for (size_t p = 44; p < m.size();) {
    const uint8_t type = m[p], len = m[p + 1];
    ASSERT_GE(len, 2) << "entry length";
    ASSERT_LE(p + len, m.size());
    if (type == 0) {
      EXPECT_EQ(len, 8);
      EXPECT_EQ(read_le(m, p + 4, 4) & 1, 1u);
      apic_ids.push_back(m[p + 3]);
    } else if (type == 1) {
      EXPECT_EQ(len, 12);
      EXPECT_EQ(m[p + 2], kVcpus);
      EXPECT_EQ(read_le(m, p + 4, 4), layout::kIoApicAddress);
      EXPECT_EQ(read_le(m, p + 8, 4), 0u);
      ++ioapics;
    } else if (type == 2) {
      EXPECT_EQ(len, 10);
      overrides.emplace_back(m[p + 3], unsigned(read_le(m, p + 4, 4)));
      if (m[p + 3] == 9) sci_flags = uint16_t(read_le(m, p + 8, 2));
    } else if (type == 4) {
      EXPECT_EQ(m[p + 5], 1);  // LINT1
      ++nmis;
    }
    p += len;
  }
  EXPECT_EQ(apic_ids, (std::vector<unsigned>{0, 1, 2, 3}));
  EXPECT_EQ(ioapics, 1);
  EXPECT_EQ(nmis, 1);
  EXPECT_EQ(overrides, (std::vector<std::pair<unsigned, unsigned>>{{0, 2}, {9, 9}}));
  EXPECT_EQ(sci_flags, 0x0d);  // level, active high
}

TEST_F(AcpiTest, ExtraTablesAndAmlAreIncluded) {
  const std::vector<uint8_t> mcfg = acpi::make_sdt("MCFG", 1, std::vector<uint8_t>(44, 0));
  const std::vector<uint8_t> aml = {0x10, 0x05, '_', 'S', 'B', '_'};  // Scope(\_SB) stub
  auto rsdp = acpi::write_acpi_tables(*mem_, {.vcpus = 1, .extra_tables = {mcfg}, .dsdt_aml = aml});
  ASSERT_TRUE(rsdp.has_value());
  auto xsdt = table(le(*rsdp + 24, 8), "XSDT");
  ASSERT_EQ(xsdt.size(), acpi::kHeaderSize + 3 * 8);
  table(read_le(xsdt, acpi::kHeaderSize + 16, 8), "MCFG");
  const uint64_t fadt = read_le(xsdt, acpi::kHeaderSize, 8);
  auto d = table(le(fadt + 40, 4), "DSDT");
  EXPECT_TRUE(std::equal(aml.begin(), aml.end(), d.end() - aml.size()));
  EXPECT_FALSE(acpi::write_acpi_tables(*mem_, {.vcpus = 0}).has_value());
}

TEST_F(AcpiTest, MpTableHasCpusIoApicAndIrq0OnPin2) {
  constexpr unsigned kVcpus = 3;
  ASSERT_TRUE(write_mptable(*mem_, kVcpus).has_value());
  auto fp = bytes(layout::kMpTable, 16);
  EXPECT_EQ(std::string(fp.begin(), fp.begin() + 4), "_MP_");
  EXPECT_EQ(checksum_byte(fp), 0);
  EXPECT_EQ(fp[8], 1);
  const uint64_t cfg = read_le(fp, 4, 4);
  EXPECT_EQ(sig(cfg), "PCMP");
  auto t = bytes(cfg, le(cfg + 4, 2));
  EXPECT_EQ(checksum_byte(t), 0);
  EXPECT_LE(cfg + t.size(), layout::kMpTableEnd);
  const unsigned count = unsigned(read_le(t, 34, 2));
  unsigned cpus = 0, bsps = 0, entries = 0;
  bool irq0_pin2 = false, isa = false, ioapic = false;
  for (size_t p = 44; p < t.size(); ++entries) {
    const uint8_t type = t[p];
    if (type == 0) {
      EXPECT_EQ(t[p + 1], cpus);  // APIC IDs 0..n-1
      ++cpus;
      bsps += (t[p + 3] & 2) ? 1 : 0;
      p += 20;
      continue;
    }
    if (type == 1) isa = std::string(t.begin() + p + 2, t.begin() + p + 8) == "ISA   ";
    if (type == 2) ioapic = t[p + 1] == kVcpus && read_le(t, p + 4, 4) == layout::kIoApicAddress;
    if (type == 3 && t[p + 1] == 0 && t[p + 5] == 0) irq0_pin2 = t[p + 7] == 2;
    ASSERT_LE(type, 4);
    p += 8;
  }
  EXPECT_EQ(entries, count);
  EXPECT_EQ(cpus, kVcpus);
  EXPECT_EQ(bsps, 1u);
  EXPECT_TRUE(isa);
  EXPECT_TRUE(ioapic);
  EXPECT_TRUE(irq0_pin2);
  EXPECT_FALSE(write_mptable(*mem_, kMpMaxVcpus + 1).has_value());
  EXPECT_TRUE(write_mptable(*mem_, kMpMaxVcpus).has_value());  // the largest still fits
}

}  // namespace
}  // namespace vessel::boot
