// `--net` (app/net_option.hpp): what is accepted and how each mistake is reported.
#include <gtest/gtest.h>

#include "app/net_option.hpp"

namespace vessel::app {
namespace {

TEST(NetOption, UserWithForwardsAndMac) {
  auto n = parse_net_option(
      "user,hostfwd=tcp::8022-:22,hostfwd=udp:127.0.0.1:5353-10.0.2.15:53,"
      "mac=52:54:00:aa:bb:cc",
      2);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->iface_id, "net2");
  EXPECT_EQ(n->host_dev_name, config::kUserNetwork);
  ASSERT_EQ(n->host_forwards.size(), 2u);
  EXPECT_FALSE(n->host_forwards[0].udp);
  EXPECT_EQ(n->host_forwards[0].host_port, 8022);
  EXPECT_EQ(n->host_forwards[0].guest_port, 22);
  EXPECT_TRUE(n->host_forwards[1].udp);
  EXPECT_EQ(n->host_forwards[1].host_port, 5353);
  EXPECT_EQ(n->host_forwards[1].guest_port, 53);
  EXPECT_EQ(n->guest_mac, "52:54:00:aa:bb:cc");
}

TEST(NetOption, Tap) {
  auto n = parse_net_option("tap=vtap0", 0);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(n->host_dev_name, "vtap0");
  EXPECT_FALSE(n->guest_mac);
  EXPECT_TRUE(n->host_forwards.empty());
}

TEST(NetOption, Mistakes) {
  const char* bad[] = {
      "",                                  // nothing
      "bridge",                            // unknown backend
      "tap=",                              // empty name
      "tap=abcdefghijklmnop",              // 16 bytes: too long for IFNAMSIZ
      "tap=user",                          // would mean the user network
      "tap=t0,hostfwd=tcp::80-:80",        // forwards need the user network
      "user,hostfwd=tcp:0.0.0.0:80-:80",   // forwards listen on loopback only
      "user,hostfwd=sctp::80-:80",         // protocol
      "user,hostfwd=tcp::0-:80",           // port 0
      "user,hostfwd=tcp::70000-:80",       // port too big
      "user,hostfwd=tcp::80:80",           // no dash
      "user,hostfwd=tcp::80-:x",           // not a number
      "user,hostfwd=tcp::80-10.0.2.9:80",  // another guest address
      "user,mac=52:54:00:aa:bb",           // short MAC
      "user,speed=fast",                   // unknown key
      "user,mac",                          // no value
      "mac=52:54:00:aa:bb:cc,user",        // backend must come first
  };
  for (const char* text : bad) {
    auto n = parse_net_option(text, 0);
    EXPECT_FALSE(n) << text;
    if (!n) {
      EXPECT_NE(n.error().message.find("--net"), std::string::npos) << text;
    }
  }
}

}  // namespace
}  // namespace vessel::app
