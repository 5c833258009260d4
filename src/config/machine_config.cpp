// machine-config: Firecracker's MachineConfiguration {vcpu_count, mem_size_mib, smt,
// track_dirty_pages, cpu_template, huge_pages} plus vessel's `engine` (kvm | emu | auto).
#include "config/resources_json.hpp"

namespace vessel::config {
namespace {

// Reads the fields both forms share; PUT then insists on the required ones.
Result<MachineConfigPatch> read_fields(JsonObject& o, const std::string& what) {
  MachineConfigPatch p;
  if (auto n = VESSEL_TRY(o.optional_unsigned_int("vcpu_count"))) {
    if (*n > 255) return fail("{}: vcpu_count {} does not fit in 8 bits", what, *n);
    p.vcpu_count = static_cast<unsigned>(*n);
  }
  p.mem_size_mib = VESSEL_TRY(o.optional_unsigned_int("mem_size_mib"));
  p.smt = VESSEL_TRY(o.optional_boolean("smt"));
  p.track_dirty_pages = VESSEL_TRY(o.optional_boolean("track_dirty_pages"));
  // CPU templates and huge pages are Firecracker features vessel does not have: only their
  // "off" values are accepted, so a client asking for one learns it at once.
  if (auto t = VESSEL_TRY(o.optional_string("cpu_template")); t && *t != "None")
    return fail("{}: cpu_template `{}` is not supported (only \"None\")", what, *t);
  if (auto h = VESSEL_TRY(o.optional_string("huge_pages")); h && *h != "None")
    return fail("{}: huge_pages `{}` is not supported (only \"None\")", what, *h);
  if (auto e = VESSEL_TRY(o.optional_string("engine"))) {
    auto kind = parse_engine_kind(*e);
    if (!kind) return context(kind.error(), "{}: field `engine`", what);
    p.engine = *kind;
  }
  VESSEL_TRY_VOID(o.finish());
  return p;
}

}  // namespace

MachineSpec apply_patch(MachineSpec m, const MachineConfigPatch& p) {
  if (p.vcpu_count) m.vcpus = *p.vcpu_count;
  if (p.mem_size_mib) m.mem_mib = *p.mem_size_mib;
  if (p.smt) m.smt = *p.smt;
  if (p.track_dirty_pages) m.track_dirty_pages = *p.track_dirty_pages;
  if (p.engine) m.engine = *p.engine;
  return m;
}

Result<void> validate_machine(const MachineSpec& m) {
  if (m.vcpus == 0 || m.vcpus > kMaxVcpus)
    return fail("The vCPU number is invalid! The number of vCPUs must be between 1 and {}.",
                kMaxVcpus);
  // With SMT the vCPUs come in sibling pairs (Firecracker's rule).
  if (m.smt && m.vcpus > 1 && m.vcpus % 2 != 0)
    return fail(
        "The vCPU number is invalid! The vCPU number can only be 1 or an even number when SMT "
        "is enabled.");
  if (m.mem_mib == 0) return fail("The memory size (MiB) is invalid.");
  if (m.mem_mib < kMinMemMib)
    return fail("The memory size (MiB) is invalid: at least {} MiB.", kMinMemMib);
  if (m.mem_mib > (uint64_t{1} << 30)) return fail("The memory size (MiB) is invalid.");
  return {};
}

Result<MachineSpec> parse_machine_config(const Json& j, const std::string& what) {
  auto o = VESSEL_TRY(JsonObject::from(j, what));
  auto p = VESSEL_TRY(read_fields(o, what));
  if (!p.vcpu_count) return fail("{}: missing field `vcpu_count`", what);
  if (!p.mem_size_mib) return fail("{}: missing field `mem_size_mib`", what);
  // PUT replaces the whole configuration: fields left out take their defaults.
  MachineSpec m = apply_patch(MachineSpec{}, p);
  VESSEL_TRY_VOID(validate_machine(m));
  return m;
}

Result<MachineConfigPatch> parse_machine_config_patch(const Json& j) {
  auto o = VESSEL_TRY(JsonObject::from(j, "machine-config"));
  auto p = VESSEL_TRY(read_fields(o, "machine-config"));
  if (!p.vcpu_count && !p.mem_size_mib && !p.smt && !p.track_dirty_pages && !p.engine)
    return fail("Empty PATCH request.");
  return p;
}

Json to_json(const MachineSpec& m) {
  return Json{{"vcpu_count", m.vcpus}, {"mem_size_mib", m.mem_mib},
              {"smt", m.smt},          {"track_dirty_pages", m.track_dirty_pages},
              {"huge_pages", "None"},  {"engine", std::string(to_string(m.engine))}};
}

}  // namespace vessel::config
