#include "config/vm_config.hpp"

namespace vessel::config {

std::string_view to_string(EngineKind kind) {
  switch (kind) {
    case EngineKind::kAuto:
      return "auto";
    case EngineKind::kKvm:
      return "kvm";
    case EngineKind::kEmu:
      return "emu";
  }
  return "?";
}

Result<EngineKind> parse_engine_kind(std::string_view text) {
  if (text == "auto") return EngineKind::kAuto;
  if (text == "kvm") return EngineKind::kKvm;
  if (text == "emu") return EngineKind::kEmu;
  return fail("unknown engine '{}' (expected kvm, emu or auto)", text);
}

Result<ConsoleSpec> parse_console(std::string_view text) {
  if (text == "stdio") return ConsoleSpec{ConsoleSpec::Kind::kStdio, {}};
  if (text == "none") return ConsoleSpec{ConsoleSpec::Kind::kNone, {}};
  if (text.starts_with("file:") && text.size() > 5)
    return ConsoleSpec{ConsoleSpec::Kind::kFile, std::string(text.substr(5))};
  return fail("bad console '{}' (expected stdio, none or file:PATH)", text);
}

Result<ConsoleSpec::Device> parse_console_device(std::string_view text) {
  if (text == "serial") return ConsoleSpec::Device::kSerial;
  if (text == "virtio") return ConsoleSpec::Device::kVirtio;
  return fail("bad console device '{}' (expected serial or virtio)", text);
}

Result<VirtioTransport> parse_virtio_transport(std::string_view text) {
  if (text == "pci") return VirtioTransport::kPci;
  if (text == "mmio") return VirtioTransport::kMmio;
  return fail("bad virtio transport '{}' (expected pci or mmio)", text);
}

Result<void> validate(const VmConfig& c) {
  if (c.machine.mem_mib < kMinMemMib)
    return fail("memory size {} MiB is too small (at least {} MiB)", c.machine.mem_mib, kMinMemMib);
  if (c.machine.mem_mib > (uint64_t{1} << 30))
    return fail("memory size {} MiB is too large", c.machine.mem_mib);
  if (c.machine.vcpus == 0 || c.machine.vcpus > kMaxVcpus)
    return fail("vCPU count {} is out of range (1 to {})", c.machine.vcpus, kMaxVcpus);
  if (c.boot.cmdline.size() > 4095)
    return fail("kernel command line is {} bytes long (at most 4095)", c.boot.cmdline.size());
  return {};
}

}  // namespace vessel::config
