// The guest both the software engine and KVM run a test case in: long mode, identity paging of
// the first 2 MiB with user pages, a GDT with ring-3 segments and a 64-bit TSS, and an IDT
// whose 32 exception gates lead to ring-0 stubs that report the vector on a port.
// Ring 3 runs natively under (PVM-flavoured) KVM, so the sequence runs there; it ends with an
// OUT that traps to ring 0 (#GP). Not used by the Unicorn runner, which has no privilege levels.
#pragma once

#include <optional>

#include "arch/x86/cpu_state.hpp"
#include "base/result.hpp"
#include "memory/guest_memory.hpp"
#include "test_case.hpp"

namespace vessel::difftest {

// Writes descriptor tables, TSS, stubs and page tables (once per guest memory).
Result<void> install_layout(const memory::GuestMemory& mem);
// Writes the case's code (with its terminator), scratch page and stack page.
Result<void> load_case(const memory::GuestMemory& mem, const TestCase& tc);
// Ring 3 (IOPL 0, IF set) at the start of the sequence with the case's registers and flags.
arch::CpuState initial_state(const TestCase& tc);
// The outcome once the guest wrote `port` (kDonePort or a fault port): registers from `st`,
// or for a fault from the ring-0 exception frame; memory read back from the guest.
// `end_rip` is done_rip() of the case.
Outcome outcome_at_port(const memory::GuestMemory& mem, const arch::CpuState& st, uint8_t port,
                        uint64_t end_rip);

}  // namespace vessel::difftest
