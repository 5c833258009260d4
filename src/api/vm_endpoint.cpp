// PATCH /vm {"state": "Paused" | "Resumed"} (post-boot) and GET /vm/config (the whole
// configuration in the config-file layout).
#include "api/endpoints.hpp"

namespace vessel::api {

Result<VmmAction> parse_patch_vm(std::string_view body) {
  auto j = VESSEL_TRY(parse_body(body));
  auto o = config::JsonObject::from(j, "vm");
  if (!o) return body_error(o.error());
  auto state = o->string("state");
  if (!state) return body_error(state.error());
  if (auto done = o->finish(); !done) return body_error(done.error());
  if (*state == "Paused") return vmm::PauseVm{};
  if (*state == "Resumed") return vmm::ResumeVm{};
  return body_error(
      Error{fmt::format("vm: unknown state `{}`, expected `Paused` or `Resumed`", *state)});
}

Result<VmmAction> parse_get_vm_config() {
  return vmm::GetFullConfig{};
}

}  // namespace vessel::api
