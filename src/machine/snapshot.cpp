// Full snapshots of a paused machine (the container format is src/snapshot/snapshot_file.hpp).
//
// Sections: kMachine (engine, RAM size, vCPUs, whether the Linux platform was built, drives,
// network interfaces, virtio-console or not, the virtio transport, which vCPUs had started), kClock
// (the VM's time line: every device deadline and the software CPU's TSC are on it, so restoring it
// makes them valid as saved), one kVcpu per vCPU (arch::CpuState), kDevices (the platform's devices
// by name) and kMemory (what the memory file must hold). Restore reads and checks all of it, and
// the memory file's size, before it builds anything; a device that then refuses its state fails the
// whole restore.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/log.hpp"
#include "base/unique_fd.hpp"
#include "base/version.hpp"
#include "machine/host_limits.hpp"
#include "machine/machine.hpp"
#include "snapshot/snapshot_file.hpp"

namespace vessel::machine {
namespace {

using snapshot::SectionId;

// What the kMachine section says.
struct MachineRecord {
  std::string engine;
  uint64_t ram_bytes = 0;
  uint32_t vcpus = 0;
  uint32_t running_vcpus = 0;
  bool linux_guest = false;
  std::vector<bool> started;
  std::vector<config::Drive> drives;
  std::vector<config::NetworkInterface> nets;
  bool virtio_console = false;
  config::VirtioTransport transport = config::VirtioTransport::kPci;
};

std::vector<uint8_t> encode_machine(const MachineRecord& r) {
  bus::StateWriter w;
  w(r.engine, r.ram_bytes, r.vcpus, r.running_vcpus, r.linux_guest, r.started,
    uint64_t{r.drives.size()});
  for (const auto& d : r.drives) w(d.drive_id, d.path_on_host, d.is_read_only, d.is_root_device);
  w(uint64_t{r.nets.size()});
  for (const auto& n : r.nets) {
    // The MAC as flag + text: GCC 12 sees a false "maybe uninitialized" in optional<string>.
    w(n.iface_id, n.host_dev_name, n.guest_mac.has_value(), n.guest_mac.value_or(""),
      uint64_t{n.host_forwards.size()});
    for (const auto& f : n.host_forwards) w(f.udp, f.host_port, f.guest_port);
  }
  w(r.virtio_console, r.transport);
  return std::move(w.data());
}

Result<MachineRecord> decode_machine(std::span<const uint8_t> bytes) {
  MachineRecord r;
  bus::StateReader in(bytes);
  uint64_t drives = 0;
  in(r.engine, r.ram_bytes, r.vcpus, r.running_vcpus, r.linux_guest, r.started, drives);
  for (uint64_t i = 0; i < drives && in.ok(); ++i) {
    config::Drive d;
    in(d.drive_id, d.path_on_host, d.is_read_only, d.is_root_device);
    r.drives.push_back(std::move(d));
  }
  uint64_t nets = 0;
  in(nets);
  for (uint64_t i = 0; i < nets && in.ok(); ++i) {
    config::NetworkInterface n;
    uint64_t forwards = 0;
    bool has_mac = false;
    std::string mac;
    in(n.iface_id, n.host_dev_name, has_mac, mac, forwards);
    if (has_mac) n.guest_mac = mac;
    for (uint64_t f = 0; f < forwards && in.ok(); ++f) {
      config::HostForward h;
      in(h.udp, h.host_port, h.guest_port);
      n.host_forwards.push_back(h);
    }
    r.nets.push_back(std::move(n));
  }
  in(r.virtio_console, r.transport);
  if (auto ok = in.finish(); !ok) return fail("machine section: {}", ok.error().message);
  if (r.vcpus == 0 || r.vcpus > config::kMaxVcpus || r.running_vcpus > r.vcpus ||
      r.started.size() != r.vcpus)
    return fail("machine section: inconsistent vCPU counts");
  if (r.ram_bytes == 0 || r.ram_bytes % (1u << 20))
    return fail("machine section: memory size {} is not whole MiB", r.ram_bytes);
  if (r.transport != config::VirtioTransport::kPci && r.transport != config::VirtioTransport::kMmio)
    return fail("machine section: unknown virtio transport");
  if (r.engine != "emu" && r.engine != "kvm")
    return fail("machine section: unknown engine '{}'", r.engine);
  return r;
}

// Exactly one section with `id`.
Result<std::span<const uint8_t>> only(const snapshot::SnapshotFile& file, SectionId id,
                                      const char* what) {
  auto found = file.find(id);
  if (found.size() != 1) return fail("the snapshot has {} {} sections, not 1", found.size(), what);
  return std::span<const uint8_t>(found[0]->data);
}

Result<void> write_all(int fd, const uint8_t* data, size_t size, const std::string& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("cannot write {}: {}", path, std::strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

// Reads `size` bytes at `offset` of the memory file into `data`, skipping the file's holes:
// fresh guest RAM is already zero, so untouched pages stay untouched (no time, no RSS).
Result<void> read_memory(int fd, uint64_t offset, uint8_t* data, uint64_t size,
                         const std::string& path) {
  const uint64_t end = offset + size;
  uint64_t at = offset;
  while (at < end) {
    off_t data_start = ::lseek(fd, static_cast<off_t>(at), SEEK_DATA);
    if (data_start < 0 && errno == ENXIO) return {};          // only holes from here on
    if (data_start < 0) data_start = static_cast<off_t>(at);  // no SEEK_DATA: read it all
    if (static_cast<uint64_t>(data_start) >= end) return {};
    off_t hole = ::lseek(fd, data_start, SEEK_HOLE);
    if (hole < 0) hole = static_cast<off_t>(end);
    const uint64_t stop = std::min<uint64_t>(static_cast<uint64_t>(hole), end);
    for (uint64_t pos = static_cast<uint64_t>(data_start); pos < stop;) {
      const ssize_t n = ::pread(fd, data + (pos - offset), stop - pos, static_cast<off_t>(pos));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail("cannot read {}: {}", path, std::strerror(errno));
      if (n == 0) return fail("{} is shorter than the guest memory", path);
      pos += static_cast<uint64_t>(n);
    }
    at = stop;
  }
  return {};
}

// Guest RAM, region after region. All-zero pages become holes (the file stays sparse, and a
// fresh guest's untouched memory costs neither disk nor write time).
Result<void> save_memory(const memory::GuestMemory& memory, const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail("cannot create {}: {}", path, std::strerror(errno));
  static const uint8_t kZeroPage[memory::kPageSize] = {};
  uint64_t offset = 0;
  for (const auto& region : memory.regions()) {
    for (uint64_t at = 0; at < region.size;) {
      // A run of non-zero pages is written with one call.
      uint64_t end = at;
      while (end < region.size && std::memcmp(region.host + end, kZeroPage, memory::kPageSize) != 0)
        end += memory::kPageSize;
      if (end > at) {
        if (::lseek(fd.get(), static_cast<off_t>(offset + at), SEEK_SET) < 0)
          return fail("cannot seek in {}: {}", path, std::strerror(errno));
        VESSEL_TRY_VOID(write_all(fd.get(), region.host + at, end - at, path));
        at = end;
      } else {
        at += memory::kPageSize;
      }
    }
    offset += region.size;
  }
  if (::ftruncate(fd.get(), static_cast<off_t>(offset)) != 0)
    return fail("cannot size {}: {}", path, std::strerror(errno));
  return {};
}

}  // namespace

Result<void> Machine::snapshot(const std::string& snapshot_path, const std::string& mem_path) {
  if (!paused()) return fail("the VM must be paused");
  if (builtin_irqchip_)
    return fail(
        "snapshots of Linux guests on KVM are not supported: the in-kernel interrupt "
        "controllers and PIT are not saved yet");
  snapshot::SnapshotFile file;
  file.vessel_version = kVersion;

  MachineRecord record;
  record.engine = std::string(engine_->name());
  record.ram_bytes = memory_.ram_size();
  record.vcpus = static_cast<uint32_t>(vcpus_.size());
  record.running_vcpus = running_vcpus_;
  record.linux_guest = linux_guest_;
  {
    std::lock_guard lock(startup_mutex_);
    record.started = started_;
  }
  record.drives = drives_;
  record.nets = network_interfaces_;
  record.virtio_console = virtio_console_;
  record.transport = virtio_transport_;
  file.add(SectionId::kMachine, encode_machine(record));

  bus::StateWriter clock;
  clock(clock_.now_ns());
  file.add(SectionId::kClock, std::move(clock.data()));

  for (uint32_t i = 0; i < vcpus_.size(); ++i) {
    auto state = vcpus_[i]->state();
    if (!state) return fail("vCPU {}: {}", i, state.error().message);
    bus::StateWriter w;
    w(i, *state);
    file.add(SectionId::kVcpu, std::move(w.data()));
  }

  bus::StateWriter devices;
  VESSEL_TRY_VOID(platform_->save_state(devices));
  file.add(SectionId::kDevices, std::move(devices.data()));

  bus::StateWriter mem;
  mem(memory_.ram_size());
  file.add(SectionId::kMemory, std::move(mem.data()));

  VESSEL_TRY_VOID(save_memory(memory_, mem_path));
  VESSEL_TRY_VOID(snapshot::write_file(snapshot_path, file));
  log::info("snapshot written to {} (memory: {})", snapshot_path, mem_path);
  return {};
}

Result<std::unique_ptr<Machine>> Machine::restore(const std::string& snapshot_path,
                                                  const std::string& mem_path,
                                                  const config::ConsoleSpec& console,
                                                  config::EngineKind engine) {
  // 1. Everything in the files is checked before anything is built.
  const auto file = VESSEL_TRY(snapshot::read_file(snapshot_path));
  if (file.vessel_version != kVersion)
    log::info("snapshot taken by vessel {} (this is {})", file.vessel_version, kVersion);
  const auto record =
      VESSEL_TRY(decode_machine(VESSEL_TRY(only(file, SectionId::kMachine, "machine"))));

  int64_t clock_ns = 0;
  {
    bus::StateReader in(VESSEL_TRY(only(file, SectionId::kClock, "clock")));
    in(clock_ns);
    if (auto ok = in.finish(); !ok) return fail("clock section: {}", ok.error().message);
  }

  std::vector<arch::CpuState> cpus(record.vcpus);
  std::vector<bool> seen(record.vcpus, false);
  const auto vcpu_sections = file.find(SectionId::kVcpu);
  if (vcpu_sections.size() != record.vcpus)
    return fail("the snapshot has {} vCPU sections for {} vCPUs", vcpu_sections.size(),
                record.vcpus);
  for (const auto* section : vcpu_sections) {
    bus::StateReader in(section->data);
    uint32_t index = 0;
    arch::CpuState state;
    in(index, state);
    if (auto ok = in.finish(); !ok) return fail("vCPU section: {}", ok.error().message);
    if (index >= record.vcpus || seen[index]) return fail("vCPU section: bad index {}", index);
    seen[index] = true;
    cpus[index] = state;
  }

  {
    bus::StateReader in(VESSEL_TRY(only(file, SectionId::kMemory, "memory")));
    uint64_t ram = 0;
    in(ram);
    if (auto ok = in.finish(); !ok) return fail("memory section: {}", ok.error().message);
    if (ram != record.ram_bytes) return fail("memory section: size does not match the machine");
  }
  const auto devices = VESSEL_TRY(only(file, SectionId::kDevices, "devices"));

  UniqueFd mem_fd(::open(mem_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!mem_fd.valid()) return fail("cannot open {}: {}", mem_path, std::strerror(errno));
  struct stat st {};
  if (::fstat(mem_fd.get(), &st) != 0) return fail("cannot stat {}", mem_path);
  if (static_cast<uint64_t>(st.st_size) != record.ram_bytes)
    return fail("memory file {} holds {} bytes, the snapshot's guest has {}", mem_path, st.st_size,
                record.ram_bytes);

  // 2. Build the machine the snapshot describes, paused, and put the state in.
  config::VmConfig config;
  config.machine.vcpus = record.vcpus;
  config.machine.mem_mib = record.ram_bytes >> 20;
  config.machine.engine =
      record.engine == "emu" ? config::EngineKind::kEmu : config::EngineKind::kKvm;
  if (engine != config::EngineKind::kAuto && engine != config.machine.engine) {
    // vCPU state is engine-neutral (arch::CpuState); the Linux platform's interrupt
    // controllers and PIT are not: emulated devices on emu, KVM's in-kernel ones on kvm.
    if (record.linux_guest)
      return fail(
          "the snapshot was taken on the {} engine and its Linux platform cannot move to {}: "
          "the interrupt controllers' state is not converted between engines",
          record.engine, config::to_string(engine));
    config.machine.engine = engine;
  }
  config.console = console;
  config.console.device = record.virtio_console ? config::ConsoleSpec::Device::kVirtio
                                                : config::ConsoleSpec::Device::kSerial;
  config.drives = record.drives;
  config.network_interfaces = record.nets;
  config.machine.virtio_transport = record.transport;
  VESSEL_TRY_VOID(check_memory_fits_host(config.machine.mem_mib));
  auto memory = VESSEL_TRY(memory::GuestMemory::create(record.ram_bytes));
  uint64_t file_offset = 0;
  for (const auto& region : memory.regions()) {
    VESSEL_TRY_VOID(read_memory(mem_fd.get(), file_offset, region.host, region.size, mem_path));
    file_offset += region.size;
  }

  std::unique_ptr<Machine> m(new Machine(std::move(memory)));
  m->paused_ = true;
  m->clock_.pause();
  m->clock_.set(clock_ns);
  if (auto ok = m->assemble(config, record.linux_guest); !ok)
    return fail("snapshot taken on the {} engine: {}", record.engine, ok.error().message);
  if (m->engine_->name() != config::to_string(config.machine.engine))
    return fail("the snapshot needs the {} engine, this machine runs {}",
                config::to_string(config.machine.engine), m->engine_->name());
  if (m->timers_) m->timers_->pause();
  if (m->running_vcpus_ != record.running_vcpus)
    return fail("the snapshot ran {} vCPUs, the rebuilt machine {}", record.running_vcpus,
                m->running_vcpus_);
  for (uint32_t i = 0; i < record.vcpus; ++i) VESSEL_TRY_VOID(m->vcpus_[i]->set_state(cpus[i]));
  m->started_ = record.started;

  bus::StateReader in(devices);
  if (auto ok = m->platform_->load_state(in); !ok)
    return fail("device state: {}", ok.error().message);
  log::info("restored {} ({} MiB, {} vCPUs, {} engine)", snapshot_path, config.machine.mem_mib,
            record.vcpus, record.engine);
  return m;
}

}  // namespace vessel::machine
