// snapshot/create and snapshot/load bodies: Firecracker's SnapshotCreateParams and
// SnapshotLoadParams (with the older `mem_file_path` form of the memory backend).
#include "config/resources_json.hpp"

namespace vessel::config {

Result<SnapshotCreateParams> parse_snapshot_create(const Json& j) {
  auto o = VESSEL_TRY(JsonObject::from(j, "snapshot-create"));
  SnapshotCreateParams p;
  p.snapshot_path = VESSEL_TRY(o.string("snapshot_path"));
  p.mem_file_path = VESSEL_TRY(o.string("mem_file_path"));
  auto type = VESSEL_TRY(o.optional_string("snapshot_type"));
  VESSEL_TRY_VOID(o.finish());
  if (type && *type == "Diff")
    p.type = SnapshotType::kDiff;
  else if (type && *type != "Full")
    return fail("snapshot-create: unknown snapshot_type `{}` (Full or Diff)", *type);
  if (p.snapshot_path.empty() || p.mem_file_path.empty())
    return fail("snapshot-create: snapshot_path and mem_file_path must not be empty");
  return p;
}

Result<SnapshotLoadParams> parse_snapshot_load(const Json& j) {
  auto o = VESSEL_TRY(JsonObject::from(j, "snapshot-load"));
  SnapshotLoadParams p;
  p.snapshot_path = VESSEL_TRY(o.string("snapshot_path"));
  auto mem_file = VESSEL_TRY(o.optional_string("mem_file_path"));
  auto backend = VESSEL_TRY(o.optional_object("mem_backend"));
  p.enable_diff_snapshots = VESSEL_TRY(o.optional_boolean("enable_diff_snapshots")).value_or(false);
  p.resume_vm = VESSEL_TRY(o.optional_boolean("resume_vm")).value_or(false);
  VESSEL_TRY_VOID(o.finish());
  // Firecracker: exactly one of the two ways of naming guest memory.
  if (mem_file.has_value() == backend.has_value())
    return fail("snapshot-load: exactly one of `mem_file_path` and `mem_backend` must be given");
  if (mem_file) {
    p.mem_backend_path = *mem_file;
  } else {
    auto b = VESSEL_TRY(JsonObject::from(*backend, "snapshot-load.mem_backend"));
    p.mem_backend_path = VESSEL_TRY(b.string("backend_path"));
    auto type = VESSEL_TRY(b.string("backend_type"));
    VESSEL_TRY_VOID(b.finish());
    if (type == "Uffd")
      p.mem_backend_type = MemBackendType::kUffd;
    else if (type != "File")
      return fail("snapshot-load.mem_backend: unknown backend_type `{}` (File or Uffd)", type);
  }
  if (p.snapshot_path.empty() || p.mem_backend_path.empty())
    return fail("snapshot-load: the snapshot and memory paths must not be empty");
  return p;
}

}  // namespace vessel::config
