// PUT /actions: Firecracker's InstanceActionInfo {"action_type": InstanceStart |
// SendCtrlAltDel | FlushMetrics}.
#include "api/endpoints.hpp"

namespace vessel::api {

Result<VmmAction> parse_put_actions(std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto o = config::JsonObject::from(j, "actions");
  if (!o) return body_error(o.error());
  auto type = o->string("action_type");
  if (!type) return body_error(type.error());
  if (auto done = o->finish(); !done) return body_error(done.error());
  if (*type == "InstanceStart") return vmm::StartInstance{};
  if (*type == "SendCtrlAltDel") return vmm::SendCtrlAltDel{};
  if (*type == "FlushMetrics") return vmm::FlushMetrics{};
  return body_error(Error{fmt::format(
      "actions: unknown action_type `{}`, expected one of `FlushMetrics`, `InstanceStart`, "
      "`SendCtrlAltDel`",
      *type)});
}

}  // namespace vessel::api
