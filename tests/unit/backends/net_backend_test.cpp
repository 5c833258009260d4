// The user-mode (libslirp) backend as a device drives it: an ARP request for the gateway is
// answered on the backend's thread, a busy forwarded port is an error at creation, stop() joins.
// The tap backend: a clear error for a name the kernel cannot take.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "backends/net/slirp_backend.hpp"
#include "backends/net/tap_backend.hpp"

namespace vessel::backends::net {
namespace {

constexpr uint8_t kGuestMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

// Who has 10.0.2.2? Tell 10.0.2.15 (RFC 826 over ethernet).
std::vector<uint8_t> arp_request() {
  std::vector<uint8_t> f(42, 0);
  for (int i = 0; i < 6; ++i) f[i] = 0xff, f[6 + i] = kGuestMac[i];
  f[12] = 0x08, f[13] = 0x06;
  const uint8_t arp[] = {0, 1, 8, 0, 6, 4, 0, 1};
  std::copy(std::begin(arp), std::end(arp), f.begin() + 14);
  std::copy(std::begin(kGuestMac), std::end(kGuestMac), f.begin() + 22);
  const uint8_t spa[] = {10, 0, 2, 15}, tpa[] = {10, 0, 2, 2};
  std::copy(std::begin(spa), std::end(spa), f.begin() + 28);
  std::copy(std::begin(tpa), std::end(tpa), f.begin() + 38);
  return f;
}

struct Inbox {
  void put(std::span<const uint8_t> f) {
    std::lock_guard lock(mutex);
    frames.emplace_back(f.begin(), f.end());
    cv.notify_all();
  }
  bool wait_for(size_t n) {
    std::unique_lock lock(mutex);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return frames.size() >= n; });
  }
  std::mutex mutex;
  std::condition_variable cv;
  std::vector<std::vector<uint8_t>> frames;
};

TEST(SlirpBackend, AnswersArpForTheGateway) {
  auto backend = SlirpBackend::create({});
  ASSERT_TRUE(backend) << backend.error().message;
  Inbox inbox;
  ASSERT_TRUE((*backend)->start([&](std::span<const uint8_t> f) { inbox.put(f); }));
  (*backend)->send(arp_request());
  ASSERT_TRUE(inbox.wait_for(1));
  const auto& reply = inbox.frames[0];
  ASSERT_GE(reply.size(), 42u);
  EXPECT_TRUE(std::equal(kGuestMac, kGuestMac + 6, reply.begin()));  // to us
  EXPECT_EQ(reply[12], 0x08);
  EXPECT_EQ(reply[13], 0x06);
  EXPECT_EQ(reply[21], 2);  // ARP reply
  EXPECT_EQ(std::vector<uint8_t>(reply.begin() + 28, reply.begin() + 32),
            (std::vector<uint8_t>{10, 0, 2, 2}));
  (*backend)->stop();
  (*backend)->stop();  // idempotent
}

TEST(SlirpBackend, ForwardedPortIsListeningOnLoopback) {
  // Find a free port, then forward it.
  const int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(::getsockname(probe, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const uint16_t port = ntohs(a.sin_port);
  ::close(probe);

  auto backend = SlirpBackend::create({config::HostForward{false, port, 80}});
  ASSERT_TRUE(backend) << backend.error().message;
  // The port is now taken by slirp's listener: a second forward of it fails, with the reason.
  auto second = SlirpBackend::create({config::HostForward{false, port, 80}});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find(std::to_string(port)), std::string::npos);
  // And a client can connect to it on 127.0.0.1.
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::close(client);
}

TEST(SlirpBackend, QueueToSlirpIsBounded) {
  auto backend = SlirpBackend::create({});
  ASSERT_TRUE(backend);
  // Not started: nothing drains the queue.
  for (size_t i = 0; i < SlirpBackend::kMaxQueuedFrames + 5; ++i) (*backend)->send(arp_request());
  EXPECT_EQ((*backend)->dropped_frames(), 5u);
}

TEST(TapBackend, BadNamesFailClearly) {
  auto tap = TapBackend::open("a-name-far-too-long-for-linux");
  ASSERT_FALSE(tap);
  EXPECT_NE(tap.error().message.find("not a valid interface name"), std::string::npos);
}

}  // namespace
}  // namespace vessel::backends::net
