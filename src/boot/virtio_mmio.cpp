#include "boot/virtio_mmio.hpp"

#include <fmt/format.h>

namespace vessel::boot {
namespace {

void append_le(std::vector<uint8_t>& out, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

// PkgLength (ACPI 6.5 §20.2.4) for `body` bytes following it; the encoded length counts itself.
std::vector<uint8_t> pkg_length(size_t body) {
  if (body + 1 <= 63) return {uint8_t(body + 1)};
  const size_t total = body + 2;  // two-byte form, up to 4095
  return {uint8_t(0x40 | (total & 0xF)), uint8_t(total >> 4)};
}

char hex_digit(unsigned v) {
  return "0123456789ABCDEF"[v & 0xF];
}

// ResourceTemplate () { Memory32Fixed (ReadWrite, base, size)
//                       Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { gsi } }
std::vector<uint8_t> resources(const devices::pci::VirtioMmioSlot& slot) {
  std::vector<uint8_t> r = {0x86, 0x09, 0x00, 0x01};  // §6.4.3.4, read-write
  append_le(r, slot.base, 4);
  append_le(r, slot.size, 4);
  // Extended Interrupt Descriptor (§6.4.3.6): flags bit 0 consumer, bit 1 clear = level,
  // bit 2 clear = active high, bit 3 clear = exclusive; one interrupt number.
  r.insert(r.end(), {0x89, 0x06, 0x00, 0x01, 0x01});
  append_le(r, slot.gsi, 4);
  r.insert(r.end(), {0x79, 0x00});  // end tag, checksum 0 (= "treat as correct")
  return r;
}

std::vector<uint8_t> device_aml(unsigned index, const devices::pci::VirtioMmioSlot& slot) {
  std::vector<uint8_t> body = {0x08, '_', 'H', 'I', 'D', 0x0D};  // Name (_HID, "LNRO0005")
  for (char c : std::string_view("LNRO0005")) body.push_back(uint8_t(c));
  body.push_back(0x00);
  body.insert(body.end(), {0x08, '_', 'U', 'I', 'D', 0x0A, uint8_t(index)});  // Name (_UID, n)
  const std::vector<uint8_t> crs = resources(slot);
  std::vector<uint8_t> buffer = {0x0A, uint8_t(crs.size())};  // BytePrefix: buffer size
  buffer.insert(buffer.end(), crs.begin(), crs.end());
  body.insert(body.end(), {0x08, '_', 'C', 'R', 'S', 0x11});  // Name (_CRS, Buffer ...)
  const auto buffer_len = pkg_length(buffer.size());
  body.insert(body.end(), buffer_len.begin(), buffer_len.end());
  body.insert(body.end(), buffer.begin(), buffer.end());

  // Device (\_SB.VRnn): ExtOpPrefix DeviceOp PkgLength NameString TermList.
  const std::vector<uint8_t> name = {'\\',
                                     0x2E,
                                     '_',
                                     'S',
                                     'B',
                                     '_',
                                     'V',
                                     'R',
                                     uint8_t(hex_digit(index >> 4)),
                                     uint8_t(hex_digit(index))};
  std::vector<uint8_t> aml = {0x5B, 0x82};
  const auto len = pkg_length(name.size() + body.size());
  aml.insert(aml.end(), len.begin(), len.end());
  aml.insert(aml.end(), name.begin(), name.end());
  aml.insert(aml.end(), body.begin(), body.end());
  return aml;
}

}  // namespace

std::string virtio_mmio_cmdline(std::span<const devices::pci::VirtioMmioSlot> slots) {
  std::string out;
  for (const auto& slot : slots) {
    if (!out.empty()) out += ' ';
    out += fmt::format("virtio_mmio.device={:#x}@{:#x}:{}", slot.size, slot.base, slot.gsi);
  }
  return out;
}

namespace acpi {

std::vector<uint8_t> virtio_mmio_aml(std::span<const devices::pci::VirtioMmioSlot> slots) {
  std::vector<uint8_t> aml;
  for (unsigned i = 0; i < slots.size(); ++i) {
    const auto device = device_aml(i, slots[i]);
    aml.insert(aml.end(), device.begin(), device.end());
  }
  return aml;
}

}  // namespace acpi
}  // namespace vessel::boot
