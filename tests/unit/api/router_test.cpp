// Each endpoint turns its request into the right VmmAction; refusals are 400 with a
// fault_message; outcomes become 204/200 as Firecracker answers.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "api/router.hpp"
#include "api/unix_listener.hpp"

namespace vessel::api {
namespace {

// Records the last action and answers with a preset result.
class Recorder final : public vmm::ActionHandler {
 public:
  vmm::ActionResult handle(vmm::VmmAction action) override {
    last = std::move(action);
    ++calls;
    return answer;
  }
  std::optional<vmm::VmmAction> last;
  int calls = 0;
  vmm::ActionResult answer = std::monostate{};
};

HttpResponse call(Recorder& r, const char* method, const char* path,
                  std::optional<std::string> body = std::nullopt) {
  return handle_request(HttpRequest{method, path, std::move(body)}, r);
}

std::string fault_of(const HttpResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (!j.is_object() || !j.contains("fault_message")) return "(no fault_message: " + r.body + ")";
  return j["fault_message"];
}

template <typename T>
bool got(const Recorder& r) {
  return r.last && std::holds_alternative<T>(*r.last);
}

TEST(ApiRouter, EachEndpointMakesItsAction) {
  Recorder r;
  struct Case {
    const char* method;
    const char* path;
    const char* body;
    size_t index;
  };
  const Case cases[] = {
      {"PUT", "/boot-source", R"({"kernel_image_path":"/k"})", 4},
      {"PUT", "/drives/root", R"({"drive_id":"root","path_on_host":"/r","is_root_device":true})",
       5},
      {"PATCH", "/drives/root", R"({"drive_id":"root","path_on_host":"/r2"})", 6},
      {"PUT", "/network-interfaces/eth0", R"({"iface_id":"eth0","host_dev_name":"tap0"})", 7},
      {"PATCH", "/network-interfaces/eth0", R"({"iface_id":"eth0"})", 8},
      {"PUT", "/machine-config", R"({"vcpu_count":1,"mem_size_mib":64})", 9},
      {"PATCH", "/machine-config", R"({"vcpu_count":2})", 10},
      {"PUT", "/actions", R"({"action_type":"InstanceStart"})", 11},
      {"PUT", "/actions", R"({"action_type":"SendCtrlAltDel"})", 12},
      {"PUT", "/actions", R"({"action_type":"FlushMetrics"})", 13},
      {"PUT", "/logger", R"({"log_path":"/l","level":"Info"})", 14},
      {"PUT", "/metrics", R"({"metrics_path":"/m"})", 15},
      {"PATCH", "/vm", R"({"state":"Paused"})", 16},
      {"PATCH", "/vm", R"({"state":"Resumed"})", 17},
      {"PUT", "/snapshot/create", R"({"snapshot_path":"/s","mem_file_path":"/m"})", 18},
      {"PUT", "/snapshot/load", R"({"snapshot_path":"/s","mem_file_path":"/m"})", 19},
      {"PUT", "/entropy", R"({})", 20},
  };
  for (const auto& c : cases) {
    auto resp = call(r, c.method, c.path, std::string(c.body));
    EXPECT_EQ(resp.status, 204) << c.method << " " << c.path << ": " << resp.body;
    EXPECT_TRUE(resp.body.empty());
    ASSERT_TRUE(r.last);
    EXPECT_EQ(r.last->index(), c.index) << c.method << " " << c.path;
  }
  call(r, "GET", "/");
  EXPECT_TRUE(got<vmm::GetInstanceInfo>(r));
  call(r, "GET", "/machine-config");
  EXPECT_TRUE(got<vmm::GetMachineConfig>(r));
  call(r, "GET", "/vm/config");
  EXPECT_TRUE(got<vmm::GetFullConfig>(r));
}

TEST(ApiRouter, RefusalsAre400WithFaultMessage) {
  Recorder r;
  struct Case {
    const char* method;
    const char* path;
    std::optional<std::string> body;
    const char* fault_part;
  };
  const Case cases[] = {
      {"GET", "/nope", std::nullopt, "Invalid request method and/or path: GET /nope."},
      {"POST", "/actions", std::string("{}"), "Invalid request method and/or path"},
      {"DELETE", "/drives/a", std::nullopt, "Invalid request method and/or path"},
      {"GET", "/boot-source", std::nullopt, "Invalid request method and/or path"},
      {"GET", "/", std::string("{}"), "GET request cannot have a body."},
      {"PUT", "/boot-source", std::nullopt, "Empty PUT request."},
      {"PATCH", "/vm", std::nullopt, "Empty PATCH request."},
      {"PUT", "/boot-source", std::string("{"), "deserializing the json body"},
      {"PUT", "/boot-source", std::string(R"({"kernel_image_path":1})"), "`kernel_image_path`"},
      {"PUT", "/boot-source", std::string(R"({"kernel_image_path":"/k","x":1})"),
       "unknown field `x`"},
      {"PUT", "/drives/a",
       std::string(R"({"drive_id":"b","path_on_host":"/r","is_root_device":true})"),
       "does not match"},
      {"PUT", "/drives",
       std::string(R"({"drive_id":"b","path_on_host":"/r","is_root_device":true})"),
       "The ID cannot be empty."},
      {"PUT", "/drives/a.b",
       std::string(R"({"drive_id":"a.b","path_on_host":"/r","is_root_device":true})"),
       "alphanumeric"},
      {"PUT", "/actions", std::string(R"({"action_type":"Reboot"})"), "unknown action_type"},
      {"PATCH", "/vm", std::string(R"({"state":"Stopped"})"), "unknown state"},
      {"PUT", "/snapshot/delete", std::string("{}"), "Invalid request method and/or path"},
      {"PATCH", "/machine-config", std::string("{}"), "Empty PATCH request."},
      {"PUT", "/machine-config", std::string("[]"), "expected an object"},
  };
  for (const auto& c : cases) {
    auto resp = call(r, c.method, c.path, c.body);
    EXPECT_EQ(resp.status, 400) << c.method << " " << c.path;
    EXPECT_NE(fault_of(resp).find(c.fault_part), std::string::npos)
        << c.method << " " << c.path << ": " << resp.body;
  }
  EXPECT_EQ(r.calls, 0);  // nothing malformed reached the VMM
}

TEST(ApiRouter, OutcomesBecomeResponses) {
  Recorder r;
  r.answer = std::unexpected(
      Error{"The requested operation is not supported after starting the microVM."});
  auto refused = call(r, "PUT", "/boot-source", std::string(R"({"kernel_image_path":"/k"})"));
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(fault_of(refused),
            "The requested operation is not supported after starting the microVM.");

  r.answer = vmm::InstanceInfo{"vm1", vmm::InstanceState::kPaused, "0.1.0", "vessel"};
  auto info = call(r, "GET", "/");
  EXPECT_EQ(info.status, 200);
  auto j = nlohmann::json::parse(info.body);
  EXPECT_EQ(j["state"], "Paused");
  EXPECT_EQ(j["id"], "vm1");
  EXPECT_EQ(j["app_name"], "vessel");

  config::MachineSpec m;
  m.vcpus = 2;
  r.answer = m;
  auto mc = call(r, "GET", "/machine-config");
  EXPECT_EQ(mc.status, 200);
  EXPECT_EQ(nlohmann::json::parse(mc.body)["vcpu_count"], 2);
}

TEST(UnixListener, RefusesAPathInUseOrStale) {
  const std::string path = "/tmp/vessel_api_test_" + std::to_string(getpid()) + ".sock";
  ::unlink(path.c_str());
  auto first = listen_unix(path);
  ASSERT_TRUE(first) << first.error().message;
  auto second = listen_unix(path);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("in use"), std::string::npos);
  // Close the listener but leave the file: a stale socket is refused, not taken over.
  first->fd.reset();
  auto stale = listen_unix(path);
  ASSERT_FALSE(stale);
  EXPECT_NE(stale.error().message.find("stale"), std::string::npos);
  remove_socket_file(path, *first);
  EXPECT_NE(::access(path.c_str(), F_OK), 0);
  EXPECT_FALSE(listen_unix(std::string(200, 'x')));
}

TEST(ApiPath, SplitsLikeFirecracker) {
  auto p = split_path("/drives/root/");
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], "drives");
  EXPECT_EQ(p[1], "root");
  EXPECT_TRUE(split_path("/").empty());
}

}  // namespace
}  // namespace vessel::api
