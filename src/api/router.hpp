// The router: method + path → the endpoint's parser → the ActionHandler → the HTTP answer,
// with Firecracker's status codes: 204 for success without data, 200 with a JSON document,
// 400 with {"fault_message": ...} for every refused request (bad path or method, bad body,
// an action the VMM refused).
#pragma once

#include "api/http.hpp"
#include "vmm/action.hpp"

namespace vessel::api {

HttpResponse handle_request(const HttpRequest& request, vmm::ActionHandler& handler);
// The HTTP form of an action's outcome.
HttpResponse to_response(const vmm::ActionResult& result);

}  // namespace vessel::api
