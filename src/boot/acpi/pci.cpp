#include "boot/acpi/pci.hpp"

#include "boot/acpi/sdt.hpp"
#include "boot/byte_writer.hpp"
#include "devices/pci/pci_layout.hpp"

namespace vessel::boot::acpi {
namespace {

namespace pci = devices::pci;

void append(std::vector<uint8_t>& out, std::initializer_list<uint8_t> bytes) {
  out.insert(out.end(), bytes);
}
void append_le(std::vector<uint8_t>& out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

// PkgLength (ACPI 6.5 §20.2.4) for `body` bytes following it; the encoded length counts itself.
std::vector<uint8_t> pkg_length(size_t body) {
  if (body + 1 <= 63) return {uint8_t(body + 1)};
  const size_t total = body + 2;  // two-byte form covers up to 4095
  return {uint8_t(0x40 | (total & 0xF)), uint8_t(total >> 4)};
}

// Address space descriptors (ACPI 6.5 §6.4.3.5): producer (a bridge window), MinFixed and
// MaxFixed (general flags 0x0C), granularity 0, no translation.
void word_space(std::vector<uint8_t>& out, uint8_t type, uint8_t type_flags, uint16_t min,
                uint16_t max) {
  append(out, {0x88, 0x0D, 0x00, type, 0x0C, type_flags});
  append_le(out, 0, 2);
  append_le(out, min, 2);
  append_le(out, max, 2);
  append_le(out, 0, 2);
  append_le(out, uint32_t{max} - min + 1, 2);
}
void dword_memory(std::vector<uint8_t>& out, uint32_t min, uint32_t max) {
  // Type-specific flags: read-write, non-cacheable.
  append(out, {0x87, 0x17, 0x00, 0x00, 0x0C, 0x01});
  append_le(out, 0, 4);
  append_le(out, min, 4);
  append_le(out, max, 4);
  append_le(out, 0, 4);
  append_le(out, uint64_t{max} - min + 1, 4);
}

std::vector<uint8_t> host_bridge_resources() {
  std::vector<uint8_t> r;
  word_space(r, 2, 0, pci::kEcamFirstBus, pci::kEcamLastBus);  // bus numbers
  // IO(Decode16, 0xCF8, 0xCF8, 1, 8): the configuration ports the bridge itself decodes.
  append(r, {0x47, 0x01});
  append_le(r, pci::kConfigPortBase, 2);
  append_le(r, pci::kConfigPortBase, 2);
  append(r, {0x01, uint8_t(pci::kConfigPortCount)});
  // I/O windows around them (type-specific 0x03: ISA and non-ISA ranges).
  word_space(r, 1, 0x03, 0x0000, pci::kConfigPortBase - 1);
  word_space(r, 1, 0x03, 0x0D00, 0xFFFF);
  dword_memory(r, uint32_t(pci::k32BitWindowBase),
               uint32_t(pci::k32BitWindowBase + pci::k32BitWindowSize - 1));
  append(r, {0x79, 0x00});  // end tag, checksum 0 (= "treat as correct", §6.4.2.9)
  return r;
}

// Name (NAME, Zero) and Name (NAME, <dword>).
void name_zero(std::vector<uint8_t>& out, const char (&name)[5]) {
  out.push_back(0x08);
  out.insert(out.end(), name, name + 4);
  out.push_back(0x00);
}

// Package () { elements } with its PkgLength and element count.
std::vector<uint8_t> package(uint8_t count, const std::vector<uint8_t>& elements) {
  std::vector<uint8_t> out = {0x12};
  const auto len = pkg_length(1 + elements.size());
  out.insert(out.end(), len.begin(), len.end());
  out.push_back(count);
  out.insert(out.end(), elements.begin(), elements.end());
  return out;
}

// Name (_PRT, Package () { Package () { 0xSSSSFFFF, pin, Zero, gsi }, ... }) (ACPI 6.5
// §6.2.13): with source Zero the last field is a global system interrupt. Every slot's INTA#
// goes where pci_layout.hpp's intx_gsi says; GSIs above 15 default to level, active low.
std::vector<uint8_t> routing_table_aml() {
  std::vector<uint8_t> entries;
  uint8_t count = 0;
  for (unsigned slot = 1; slot < pci::kDevicesPerBus; ++slot, ++count) {
    std::vector<uint8_t> e = {0x0C};  // DWordPrefix: address, any function of `slot`
    append_le(e, (uint32_t{slot} << 16) | 0xFFFF, 4);
    append(e, {0x00, 0x00, 0x0A, uint8_t(pci::intx_gsi(slot))});  // pin INTA#, source Zero
    const auto p = package(4, e);
    entries.insert(entries.end(), p.begin(), p.end());
  }
  std::vector<uint8_t> out = {0x08, '_', 'P', 'R', 'T'};
  const auto table = package(count, entries);
  out.insert(out.end(), table.begin(), table.end());
  return out;
}

}  // namespace

std::vector<uint8_t> make_mcfg() {
  // Body: 8 reserved bytes, then one 16-byte allocation per ECAM window.
  ByteWriter w(8 + 16);
  w.u64(8, pci::kEcamBase);
  w.u16(16, pci::kPciSegment);
  w.u8(18, pci::kEcamFirstBus);
  w.u8(19, pci::kEcamLastBus);
  return make_sdt("MCFG", 1, w.data());
}

std::vector<uint8_t> pci_host_bridge_aml() {
  std::vector<uint8_t> body = {0x08, '_', 'H', 'I', 'D', 0x0C};
  append_le(body, 0x030AD041, 4);  // EisaId ("PNP0A03"): PCI host bridge
  name_zero(body, "_UID");
  name_zero(body, "_SEG");
  name_zero(body, "_BBN");
  const std::vector<uint8_t> prt = routing_table_aml();
  body.insert(body.end(), prt.begin(), prt.end());

  const std::vector<uint8_t> resources = host_bridge_resources();
  std::vector<uint8_t> buffer = {0x0B};  // WordPrefix: buffer size
  append_le(buffer, resources.size(), 2);
  buffer.insert(buffer.end(), resources.begin(), resources.end());
  append(body, {0x08, '_', 'C', 'R', 'S', 0x11});  // Name (_CRS, Buffer ...)
  const auto buffer_len = pkg_length(buffer.size());
  body.insert(body.end(), buffer_len.begin(), buffer_len.end());
  body.insert(body.end(), buffer.begin(), buffer.end());

  // Device (\_SB.PCI0): ExtOpPrefix DeviceOp PkgLength NameString TermList.
  const std::vector<uint8_t> name = {'\\', 0x2E, '_', 'S', 'B', '_', 'P', 'C', 'I', '0'};
  std::vector<uint8_t> aml = {0x5B, 0x82};
  const auto len = pkg_length(name.size() + body.size());
  aml.insert(aml.end(), len.begin(), len.end());
  aml.insert(aml.end(), name.begin(), name.end());
  aml.insert(aml.end(), body.begin(), body.end());
  return aml;
}

}  // namespace vessel::boot::acpi
