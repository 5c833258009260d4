#include "boot/acpi/sdt.hpp"

#include "boot/byte_writer.hpp"

namespace vessel::boot::acpi {
namespace {

constexpr std::string_view kOemId = "VESSEL";
constexpr std::string_view kOemTableId = "VESSELVM";
constexpr std::string_view kCreatorId = "VSSL";

}  // namespace

std::vector<uint8_t> make_sdt(std::string_view signature, uint8_t revision,
                              std::span<const uint8_t> body) {
  ByteWriter w(kHeaderSize + body.size());
  w.str(0, signature, 4);
  w.u32(4, uint32_t(kHeaderSize + body.size()));
  w.u8(8, revision);
  w.str(10, kOemId, 6);
  w.str(16, kOemTableId, 8);
  w.u32(24, 1);  // OEM revision
  w.str(28, kCreatorId, 4);
  w.u32(32, 1);  // creator revision
  w.bytes(kHeaderSize, body);
  w.u8(9, checksum_byte(w.data()));
  return std::move(w.data());
}

std::vector<uint8_t> make_rsdt(std::span<const uint64_t> addresses) {
  ByteWriter body(addresses.size() * 4);
  for (size_t i = 0; i < addresses.size(); ++i) body.u32(i * 4, uint32_t(addresses[i]));
  return make_sdt("RSDT", 1, body.data());
}

std::vector<uint8_t> make_xsdt(std::span<const uint64_t> addresses) {
  ByteWriter body(addresses.size() * 8);
  for (size_t i = 0; i < addresses.size(); ++i) body.u64(i * 8, addresses[i]);
  return make_sdt("XSDT", 1, body.data());
}

std::vector<uint8_t> make_rsdp(uint64_t rsdt, uint64_t xsdt) {
  ByteWriter w(kRsdpSize);
  w.str(0, "RSD PTR ", 8);
  w.str(9, kOemId, 6);
  w.u8(15, 2);  // revision 2: ACPI 2.0 and later
  w.u32(16, uint32_t(rsdt));
  w.u32(20, uint32_t(kRsdpSize));
  w.u64(24, xsdt);
  // The first checksum covers the ACPI 1.0 part (20 bytes), the extended one all 36.
  w.u8(8, checksum_byte(std::span(w.data()).first(20)));
  w.u8(32, checksum_byte(w.data()));
  return std::move(w.data());
}

}  // namespace vessel::boot::acpi
