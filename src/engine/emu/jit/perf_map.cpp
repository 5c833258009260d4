#include "engine/emu/jit/perf_map.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace vessel::engine::emu::jit {

namespace {

struct MapFile {
  std::mutex lock;
  std::FILE* file = nullptr;

  MapFile() {
    const char* v = std::getenv("VESSEL_PERF_MAP");
    if (v == nullptr || std::strcmp(v, "1") != 0) return;
    const std::string path = fmt::format("/tmp/perf-{}.map", ::getpid());
    file = std::fopen(path.c_str(), "w");
    if (file == nullptr) std::perror(path.c_str());  // profiling aid only: run on without it
  }
  ~MapFile() {
    if (file != nullptr) std::fclose(file);
  }
};

MapFile& map_file() {
  static MapFile m;
  return m;
}

const char* mode_name(x86::CodeMode mode) {
  switch (mode) {
    case x86::CodeMode::k16:
      return "k16";
    case x86::CodeMode::k32:
      return "k32";
    default:
      return "k64";
  }
}

}  // namespace

bool perf_map_enabled() {
  return map_file().file != nullptr;
}

void perf_map_add(const void* code, size_t size, uint64_t gpa, x86::CodeMode mode, size_t insts) {
  MapFile& m = map_file();
  if (m.file == nullptr) return;
  const std::lock_guard guard(m.lock);
  fmt::print(m.file, "{:x} {:x} guest:{}:{:#x}+{}\n", reinterpret_cast<uintptr_t>(code), size,
             mode_name(mode), gpa, insts);
  std::fflush(m.file);  // perf reads the map after the process is gone: nothing may stay buffered
}

void perf_map_add_named(const void* code, size_t size, std::string_view name) {
  MapFile& m = map_file();
  if (m.file == nullptr) return;
  const std::lock_guard guard(m.lock);
  fmt::print(m.file, "{:x} {:x} vessel:{}\n", reinterpret_cast<uintptr_t>(code), size, name);
  std::fflush(m.file);
}

}  // namespace vessel::engine::emu::jit
