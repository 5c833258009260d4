// PerfMap: names translated blocks for the Linux `perf` tool. With VESSEL_PERF_MAP=1 in the
// environment, every translation is announced in /tmp/perf-<pid>.map (perf's JIT symbol-map
// convention: "start size name" per line), so `perf record` / `perf report` attribute host time
// to guest code ("guest:k64:0x156f8a6+38" = 64-bit code at guest-physical 0x156f8a6, 38
// instructions) instead of anonymous addresses. Off by default: one line per translation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "x86/decode/decoded_inst.hpp"

namespace vessel::engine::emu::jit {

// Whether VESSEL_PERF_MAP asks for the map (read once per process).
bool perf_map_enabled();
// Appends one translation to the map (thread-safe: vCPUs translate concurrently).
void perf_map_add(const void* code, size_t size, uint64_t gpa, x86::CodeMode mode, size_t insts);
// Appends code that is not a guest block (the shared stubs), as "vessel:<name>".
void perf_map_add_named(const void* code, size_t size, std::string_view name);

}  // namespace vessel::engine::emu::jit
