// blk_device_bench: the virtio-blk device model alone, driven in-process by a synthetic driver,
// against the host's own file throughput for the same transfer (issue 6).
//
// The driver lays out a split virtqueue (256 entries, INDIRECT_DESC) in a GuestMemory, the way
// Linux does for direct I/O: per request an indirect table of header, DATA_BYTES / SEG_BYTES
// data segments (4 KiB pages by default) and the status byte. It makes DEPTH requests
// available, "notifies" (VirtioBlk::process_queue, what a queue-notify write ends in), reaps
// the used ring, checks every status, and repeats until TOTAL bytes moved; a write pass ends
// with a FLUSH. The host baseline does the same transfer with pread/pwrite of DATA_BYTES into
// DEPTH rotating buffers (and fdatasync at the end of writes) on the same file.
//
// Usage: blk_device_bench [--dir DIR] [--mib TOTAL] [--req-kib N] [--seg-kib N] [--depth N]
//                         [-n RUNS] [--quick]
// The image (TOTAL MiB) is created in DIR (default $TMPDIR or /tmp) once, and every side (host,
// device on sync calls, device on io_uring) uses that same file. Buffered I/O through a warm
// host page cache, not O_DIRECT, on both sides: the file is written once before anything is
// timed, so the figure is the device model's overhead over plain system calls, not the disk's
// speed (writes end with fdatasync / a FLUSH, which does reach the disk).
// Stability on a shared, noisy machine: the sides take turns within each run (read: host,
// sync, io_uring; then write: the same), so a burst of load hits all of them alike; RUNS
// rounds (default 7, --quick 1) and the MEDIAN of each is reported, with the spread
// (min-max around it) so a noisy figure is visible as such. Prints RESULT lines, then a table;
// exit 1 if a request failed or data read back differs.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/blk/blk_request.hpp"
#include "devices/virtio/blk/file_backend.hpp"
#include "devices/virtio/blk/uring_backend.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/virtio_spec.hpp"
#include "devices/virtio/virtqueue.hpp"
#include "memory/guest_memory.hpp"

namespace {

using namespace vessel;
using namespace vessel::devices::virtio;

struct Options {
  std::string dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  uint64_t total = 256ull << 20;
  uint64_t req = 1 << 20;
  uint64_t seg = 4096;
  unsigned depth = 32;
  int runs = 7;
};

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "blk_device_bench: %s\n", what.c_str());
  std::exit(2);
}

// Guest-physical layout: rings, then per slot an indirect table + header + status, then data.
constexpr uint64_t kQueueSize = 256;
constexpr uint64_t kDesc = 0x1000, kAvail = 0x2000, kUsed = 0x3000;
constexpr uint64_t kSlots = 0x10000;  // per slot: 16 KiB (table up to 1021 entries)
constexpr uint64_t kSlotBytes = 0x4000;
constexpr uint64_t kHeaderAt = 0x3ff0;  // within the slot: header (16 bytes)
constexpr uint64_t kStatusAt = 0x3fe0;  // within the slot: status byte

class Driver {
 public:
  Driver(const Options& o, memory::GuestMemory& mem, VirtioBlk& dev)
      : o_(o), mem_(mem), dev_(dev), vq_("bench", kQueueSize) {
    data_ = kSlots + kSlotBytes * o.depth;
    // Fresh rings (a previous driver may have used this memory), and every page touched once
    // so page faults are not timed.
    auto all = *mem_.span(0, mem_.ram_size());
    std::memset(all.data(), 0, all.size());
    const uint64_t features = feature_bit(kFeatureVersion1) | feature_bit(kFeatureIndirectDesc) |
                              feature_bit(blk::kFeatureFlush);
    if (!vq_.enable(mem_, QueueConfig{kQueueSize, kDesc, kAvail, kUsed}, features))
      die("queue setup failed");
    dev_.activate(features);
  }
  static uint64_t ram_needed(const Options& o) {
    const uint64_t r = kSlots + kSlotBytes * o.depth + o.req * o.depth;
    return (r + 0xfffff) & ~uint64_t{0xfffff};
  }
  uint64_t data_gpa(unsigned slot) const { return data_ + o_.req * slot; }

  // Moves o.total bytes (type kTypeIn or kTypeOut); false if a request failed.
  bool pass(uint32_t type, bool flush_at_end) {
    uint64_t sector = 0;
    const uint64_t sectors = o_.total / 512;
    while (sector < sectors) {
      unsigned n = 0;
      for (; n < o_.depth && sector < sectors; ++n, sector += o_.req / 512)
        make_request(n, type, sector, o_.req);
      if (!notify_and_check(n)) return false;
    }
    if (flush_at_end) {
      make_request(0, blk::kTypeFlush, 0, 0);
      if (!notify_and_check(1)) return false;
    }
    return true;
  }

 private:
  void put_desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                uint16_t next) {
    uint8_t d[16];
    std::memcpy(d, &addr, 8);
    std::memcpy(d + 8, &len, 4);
    std::memcpy(d + 12, &flags, 2);
    std::memcpy(d + 14, &next, 2);
    (void)mem_.write(table + 16 * uint64_t{i}, d);
  }

  void make_request(unsigned slot, uint32_t type, uint64_t sector, uint64_t bytes) {
    const uint64_t base = kSlots + kSlotBytes * slot;
    uint8_t header[16] = {};
    std::memcpy(header, &type, 4);
    std::memcpy(header + 8, &sector, 8);
    (void)mem_.write(base + kHeaderAt, header);
    (void)mem_.write_obj<uint8_t>(base + kStatusAt, 0xee);
    unsigned i = 0;
    put_desc(base, i, base + kHeaderAt, 16, kDescFlagNext, static_cast<uint16_t>(i + 1));
    ++i;
    const uint16_t data_flags = type == blk::kTypeIn ? kDescFlagWrite : 0;
    for (uint64_t off = 0; off < bytes; off += o_.seg, ++i)
      put_desc(base, i, data_gpa(slot) + off, static_cast<uint32_t>(std::min(o_.seg, bytes - off)),
               data_flags | kDescFlagNext, static_cast<uint16_t>(i + 1));
    put_desc(base, i, base + kStatusAt, 1, kDescFlagWrite, 0);
    ++i;
    put_desc(kDesc, slot, base, 16 * i, kDescFlagIndirect, 0);
    const uint16_t idx = *mem_.read_obj<uint16_t>(kAvail + 2);
    (void)mem_.write_obj<uint16_t>(kAvail + 4 + 2 * (uint64_t{idx} % kQueueSize),
                                   static_cast<uint16_t>(slot));
    (void)mem_.write_obj<uint16_t>(kAvail + 2, static_cast<uint16_t>(idx + 1));
  }

  bool notify_and_check(unsigned n) {
    const uint16_t before = used_seen_;
    dev_.process_queue(0, vq_);
    const uint16_t used = *mem_.read_obj<uint16_t>(kUsed + 2);
    if (static_cast<uint16_t>(used - before) != n) return false;
    used_seen_ = used;
    for (uint16_t k = before; k != used; ++k) {
      const uint32_t id = *mem_.read_obj<uint32_t>(kUsed + 4 + 8 * (uint64_t{k} % kQueueSize));
      if (id >= o_.depth) return false;
      if (*mem_.read_obj<uint8_t>(kSlots + kSlotBytes * id + kStatusAt) != blk::kStatusOk)
        return false;
    }
    return true;
  }

  const Options& o_;
  memory::GuestMemory& mem_;
  VirtioBlk& dev_;
  Virtqueue vq_;
  uint64_t data_ = 0;
  uint16_t used_seen_ = 0;
};

// The host baseline: the same transfer with plain pread/pwrite, one request size at a time,
// into DEPTH buffers in turn (the footprint the guest's data buffers have, so both sides see
// the same cache behaviour).
bool host_pass(const Options& o, int fd, bool write, std::vector<uint8_t>& buf) {
  uint64_t i = 0;
  for (uint64_t off = 0; off < o.total; off += o.req, ++i) {
    uint8_t* p = buf.data() + (i % o.depth) * o.req;
    const ssize_t n = write ? pwrite(fd, p, o.req, static_cast<off_t>(off))
                            : pread(fd, p, o.req, static_cast<off_t>(off));
    if (n != static_cast<ssize_t>(o.req)) return false;
  }
  return !write || fdatasync(fd) == 0;
}

// MiB/s of one timed pass, or -1 when it failed.
double mib_s(const Options& o, const std::function<bool()>& pass) {
  const double t0 = now_s();
  if (!pass()) return -1;
  return static_cast<double>(o.total) / (1 << 20) / (now_s() - t0);
}

// Median, minimum and maximum of a side's samples.
struct Figure {
  double median = 0, min = 0, max = 0;
};
Figure summarize(std::vector<double> v) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  return {median, v.front(), v.back()};
}

// One side of the comparison: a read pass and a write pass over the whole file.
struct Side {
  std::string name;
  std::function<bool()> read, write;
  std::vector<double> reads, writes;
};

std::string fmt_figure(const Figure& f) {
  char out[64];
  std::snprintf(out, sizeof out, "%.0f (%.0f-%.0f)", f.median, f.min, f.max);
  return out;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--dir")
      o.dir = next();
    else if (a == "--mib")
      o.total = std::stoull(next()) << 20;
    else if (a == "--req-kib")
      o.req = std::stoull(next()) << 10;
    else if (a == "--seg-kib")
      o.seg = std::stoull(next()) << 10;
    else if (a == "--depth")
      o.depth = static_cast<unsigned>(std::stoul(next()));
    else if (a == "-n")
      o.runs = std::stoi(next());
    else if (a == "--quick") {
      o.total = 16ull << 20;
      o.runs = 1;
    } else
      die("unknown option " + a + " (see the comment at the top of blk_device_bench.cpp)");
  }
  if (o.req == 0 || o.req % 512 || o.total % o.req || o.seg == 0 || o.seg % 512)
    die("sizes must be multiples of 512 and TOTAL a multiple of the request size");
  if (o.depth == 0 || o.depth > 64) die("--depth must be 1..64");
  if (o.req / o.seg + 2 > 1000) die("too many segments per request (--seg-kib)");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const std::string path = o.dir + "/vessel-blk-bench-XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  const int fd = mkstemp(name.data());
  if (fd < 0) die("cannot create the image in " + o.dir);
  std::vector<uint8_t> buf(o.req * o.depth);
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i % o.req * 13 + 5);
  // Written (and so cached) once before anything is timed.
  bool ok = ftruncate(fd, static_cast<off_t>(o.total)) == 0 && host_pass(o, fd, true, buf);

  std::vector<Side> sides;
  sides.push_back({"host", [&] { return host_pass(o, fd, false, buf); },
                   [&] { return host_pass(o, fd, true, buf); }});
  // Each device has its own guest memory and rings; all of them drive the same file.
  std::vector<memory::GuestMemory> mems;
  std::vector<std::unique_ptr<VirtioBlk>> devs;
  std::vector<std::unique_ptr<Driver>> drivers;
  mems.reserve(2);
  for (const char* engine : {"sync", "io_uring"}) {
    auto file = FileBackend::open(name.data(), false);
    if (!file) die(file.error().message);
    std::unique_ptr<BlockBackend> backend;
    if (std::string(engine) == "io_uring") {
      auto ring = UringBackend::open(std::move(*file));
      if (!ring) {
        std::printf("RESULT side=io_uring skipped=\"%s\"\n", ring.error().message.c_str());
        continue;
      }
      backend = std::move(*ring);
    } else {
      backend = std::move(*file);
    }
    auto mem = memory::GuestMemory::create(Driver::ram_needed(o));
    if (!mem) die("guest memory: " + mem.error().message);
    mems.push_back(std::move(*mem));
    devs.push_back(std::make_unique<VirtioBlk>(std::move(backend)));
    drivers.push_back(std::make_unique<Driver>(o, mems.back(), *devs.back()));
    Driver* d = drivers.back().get();
    sides.push_back({engine, [d] { return d->pass(blk::kTypeIn, false); },
                     [d] { return d->pass(blk::kTypeOut, true); }});
  }

  for (int r = 0; r < o.runs && ok; ++r) {
    for (Side& side : sides) side.reads.push_back(mib_s(o, side.read));
    for (Side& side : sides) side.writes.push_back(mib_s(o, side.write));
    for (const Side& side : sides)
      if (side.reads.back() < 0 || side.writes.back() < 0) ok = false;
  }
  // What the devices' reads put in guest memory must be the file's bytes.
  for (size_t i = 0; i < drivers.size() && ok; ++i) {
    (void)drivers[i]->pass(blk::kTypeIn, false);
    std::vector<uint8_t> back(o.req);
    (void)mems[i].read(drivers[i]->data_gpa(0), back);
    if (!std::equal(back.begin(), back.end(), buf.begin())) ok = false;
  }
  drivers.clear();
  devs.clear();
  close(fd);
  unlink(name.data());

  std::printf(
      "# %llu MiB file, buffered I/O on a warm page cache (not O_DIRECT), %llu KiB requests in "
      "%llu KiB segments, %u per notification; median of %d interleaved runs, spread min-max\n",
      static_cast<unsigned long long>(o.total >> 20), static_cast<unsigned long long>(o.req >> 10),
      static_cast<unsigned long long>(o.seg >> 10), o.depth, o.runs);
  const Figure host_r = summarize(sides[0].reads), host_w = summarize(sides[0].writes);
  for (const Side& side : sides) {
    const Figure rd = summarize(side.reads), wr = summarize(side.writes);
    std::printf(
        "RESULT side=%s read_mib_s=%.0f read_min=%.0f read_max=%.0f write_mib_s=%.0f "
        "write_min=%.0f write_max=%.0f read_vs_host=%.2f write_vs_host=%.2f\n",
        side.name.c_str(), rd.median, rd.min, rd.max, wr.median, wr.min, wr.max,
        rd.median / host_r.median, wr.median / host_w.median);
  }
  std::printf("\n%-10s %22s %22s %10s %10s\n", "side", "read MiB/s (min-max)",
              "write MiB/s (min-max)", "read/host", "write/host");
  for (const Side& side : sides) {
    const Figure rd = summarize(side.reads), wr = summarize(side.writes);
    const std::string r = fmt_figure(rd), w = fmt_figure(wr);
    std::printf("%-10s %22s %22s %10.2f %10.2f\n", side.name.c_str(), r.c_str(), w.c_str(),
                rd.median / host_r.median, wr.median / host_w.median);
  }
  if (!ok) std::printf("FAILED: a request failed or the data read back differs\n");
  return ok ? 0 : 1;
}
