// CIDR, destination and port parsing, and the name validators the CLI shares with the config.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include "agent/config/cidr.h"
#include "agent/config/config.h"
#include "agent/config/names.h"

namespace wb::config {
namespace {

TEST(Cidr, ParsesAndPrints) {
  auto v4 = parse_cidr("192.0.2.0/24");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->family, AF_INET);
  EXPECT_EQ(v4->prefix, 24);
  EXPECT_EQ(v4->addr[0], 192);
  EXPECT_EQ(v4->to_string(), "192.0.2.0/24");
  auto v6 = parse_cidr("2001:db8::/32");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->family, AF_INET6);
  EXPECT_EQ(v6->to_string(), "2001:db8::/32");
  EXPECT_EQ(parse_cidr("0.0.0.0/0")->to_string(), "0.0.0.0/0");
  EXPECT_EQ(parse_cidr("::/0")->to_string(), "::/0");
  EXPECT_EQ(parse_cidr("198.51.100.7")->to_string(), "198.51.100.7/32");
  EXPECT_EQ(parse_cidr("2001:db8::7")->to_string(), "2001:db8::7/128");
}

TEST(Cidr, RejectsWithReason) {
  struct Case {
    const char* text;
    const char* detail;
  };
  for (auto c :
       {Case{"", "empty CIDR"}, Case{"10.0.0.0/", "prefix length must be 0..32"},
        Case{"10.0.0.0/33", "0..32"}, Case{"10.0.0.0/-1", "0..32"}, Case{"10.0.0.0/8x", "0..32"},
        Case{"2001:db8::/200", "0..128"}, Case{"10.0.0.1/8", "did you mean 10.0.0.0/8?"},
        Case{"2001:db8::1/32", "did you mean 2001:db8::/32?"},
        Case{"10.0.0/8", "not an IPv4 or IPv6 address"},
        Case{"example.com/8", "not an IPv4 or IPv6 address"}, Case{" 10.0.0.0/8", "not an IPv4"},
        Case{"10.0.0.0/08888888888888", "0..32"}}) {
    auto r = parse_cidr(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.error().code, std::make_error_code(std::errc::invalid_argument));
    EXPECT_NE(r.error().context.find(c.detail), std::string::npos)
        << c.text << " -> " << r.error().context;
  }
}

TEST(Dst, WithAndWithoutPorts) {
  EXPECT_EQ(parse_dst("192.0.2.0/24:443")->to_string(), "192.0.2.0/24:443");
  EXPECT_EQ(parse_dst("192.0.2.0/24:443")->port, 443);
  EXPECT_EQ(parse_dst("192.0.2.9")->to_string(), "192.0.2.9/32");
  EXPECT_EQ(parse_dst("192.0.2.9")->port, 0);
  EXPECT_EQ(parse_dst("2001:db8::/32")->to_string(), "2001:db8::/32");
  EXPECT_EQ(parse_dst("[2001:db8::/32]:5061")->to_string(), "[2001:db8::/32]:5061");
  EXPECT_EQ(parse_dst("[2001:db8::1]")->to_string(), "2001:db8::1/128");
  for (const char* bad :
       {"192.0.2.0/24:", "192.0.2.0/24:0", "192.0.2.0/24:65536", "192.0.2.0/24:http",
        "[2001:db8::/32", "[2001:db8::/32]443", "[2001:db8::/32]:", "", ":443"}) {
    EXPECT_FALSE(parse_dst(bad).ok()) << bad;
  }
}

TEST(Port, Range) {
  EXPECT_EQ(*parse_port("1"), 1);
  EXPECT_EQ(*parse_port("65535"), 65535);
  for (const char* bad : {"0", "65536", "-1", "", "44x", " 443", "4294967297", "+443"}) {
    auto r = parse_port(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().context.find("is not a port (expected 1..65535)"), std::string::npos);
  }
}

TEST(Names, Interfaces) {
  EXPECT_TRUE(check_ifname("eth1").ok());
  EXPECT_TRUE(check_ifname("enp0s31f6.100").ok());
  EXPECT_TRUE(check_ifname("123456789012345").ok());
  for (const char* bad : {"", "1234567890123456", "a/b", "a:b", "a b", ".", ".."}) {
    EXPECT_FALSE(check_ifname(bad).ok()) << bad;
  }
}

TEST(Names, SniPatterns) {
  for (const char* good : {"www.example.com", "*.example.com", "example", "_sip._tls.example"}) {
    EXPECT_TRUE(check_sni_pattern(good).ok()) << good;
  }
  for (const char* bad :
       {"", "*", "*.", "a.*.example", "**.example", "*example.com", "a b", "*.*.example"}) {
    EXPECT_FALSE(check_sni_pattern(bad).ok()) << bad;
  }
}

TEST(Names, Lists) {
  EXPECT_EQ(one_of(kDetectProtocols), "https, sips, sip or ms-turn");
  EXPECT_TRUE(is_one_of(kPolicyActions, "deny"));
  EXPECT_FALSE(is_one_of(kPolicyActions, "block"));
  EXPECT_EQ(*parse_policy_action("allow-undetected"), PolicyAction::kAllowUndetected);
  EXPECT_EQ(to_string(PolicyAction::kTunnel), "tunnel");
  EXPECT_FALSE(parse_policy_action("block").ok());
}

}  // namespace
}  // namespace wb::config
