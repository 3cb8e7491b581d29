#include "agent/policy/rules.h"

#include <gtest/gtest.h>

namespace wb::policy {
namespace {

Destination dest(const char* ip, std::uint16_t port) {
  return {*IpAddress::parse(ip), port};
}

TEST(IpAddress, ParsesAndPrintsBothFamilies) {
  EXPECT_EQ(IpAddress::parse("192.0.2.2")->to_string(), "192.0.2.2");
  EXPECT_TRUE(IpAddress::parse("192.0.2.2")->is_v4());
  EXPECT_EQ(IpAddress::parse("2001:db8::2")->to_string(), "2001:db8::2");
  EXPECT_FALSE(IpAddress::parse("2001:db8::2")->is_v4());
  EXPECT_FALSE(IpAddress::parse("").ok());
  EXPECT_FALSE(IpAddress::parse("192.0.2").ok());
  EXPECT_FALSE(IpAddress::parse("example.com").ok());
  EXPECT_FALSE(IpAddress::parse(std::string(200, '1')).ok());
  EXPECT_EQ(dest("2001:db8::2", 443).to_string(), "[2001:db8::2]:443");
  EXPECT_EQ(dest("192.0.2.2", 5061).to_string(), "192.0.2.2:5061");
}

TEST(Cidr, ContainsByPrefix) {
  EXPECT_FALSE(Cidr::parse("192.0.2.77/24").ok());  // host bits set: refused, as in the config
  auto v4 = Cidr::parse("192.0.2.0/24");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->to_string(), "192.0.2.0/24");
  EXPECT_TRUE(v4->contains(*IpAddress::parse("192.0.2.1")));
  EXPECT_TRUE(v4->contains(*IpAddress::parse("192.0.2.255")));
  EXPECT_FALSE(v4->contains(*IpAddress::parse("192.0.3.1")));
  EXPECT_FALSE(v4->contains(*IpAddress::parse("2001:db8::1")));

  auto odd = Cidr::parse("10.0.0.0/9");
  ASSERT_TRUE(odd.ok());
  EXPECT_TRUE(odd->contains(*IpAddress::parse("10.127.255.255")));
  EXPECT_FALSE(odd->contains(*IpAddress::parse("10.128.0.0")));

  auto v6 = Cidr::parse("2001:db8::/32");
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v6->contains(*IpAddress::parse("2001:db8:1::5")));
  EXPECT_FALSE(v6->contains(*IpAddress::parse("2001:db9::5")));
  EXPECT_FALSE(v6->contains(*IpAddress::parse("192.0.2.1")));

  auto host = Cidr::parse("192.0.2.2");
  ASSERT_TRUE(host.ok());
  EXPECT_TRUE(host->contains(*IpAddress::parse("192.0.2.2")));
  EXPECT_FALSE(host->contains(*IpAddress::parse("192.0.2.3")));

  auto all = Cidr::parse("0.0.0.0/0");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->contains(*IpAddress::parse("198.51.100.9")));

  for (const char* bad :
       {"192.0.2.0/33", "192.0.2.0/", "192.0.2.0/x", "2001:db8::/129", "/24", "1.2.3.4/-1"}) {
    EXPECT_FALSE(Cidr::parse(bad).ok()) << bad;
  }
}

TEST(SniPattern, ExactAndWildcard) {
  auto exact = SniPattern::parse("WWW.Example.com.");
  ASSERT_TRUE(exact.ok());
  EXPECT_TRUE(exact->matches("www.example.com"));
  EXPECT_TRUE(exact->matches("www.EXAMPLE.com."));
  EXPECT_FALSE(exact->matches("example.com"));
  EXPECT_FALSE(exact->matches("awww.example.com"));
  EXPECT_FALSE(exact->matches(""));

  auto wild = SniPattern::parse("*.example.com");
  ASSERT_TRUE(wild.ok());
  EXPECT_TRUE(wild->matches("a.example.com"));
  EXPECT_TRUE(wild->matches("a.b.Example.COM"));
  EXPECT_FALSE(wild->matches("example.com"));
  EXPECT_FALSE(wild->matches("badexample.com"));
  EXPECT_FALSE(wild->matches(".example.com"));

  for (const char* bad :
       {"", "*.", "*", "a..b", "a b.com", "*.*.com", ".example.com", "ex*ample.com"}) {
    EXPECT_FALSE(SniPattern::parse(bad).ok()) << bad;
  }
}

TEST(DstMatch, ParsesCidrAndPort) {
  auto m = parse_dst_match("192.0.2.0/24:443");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->port, 443);
  EXPECT_TRUE(m->matches("", dest("192.0.2.9", 443)));
  EXPECT_FALSE(m->matches("", dest("192.0.2.9", 5061)));
  EXPECT_EQ(m->describe(), "dst=192.0.2.0/24 port=443");

  auto v6 = parse_dst_match("[2001:db8::/32]:5061");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->port, 5061);
  EXPECT_TRUE(v6->matches("", dest("2001:db8::2", 5061)));

  auto bare6 = parse_dst_match("2001:db8::2");
  ASSERT_TRUE(bare6.ok());
  EXPECT_EQ(bare6->port, 0);
  EXPECT_TRUE(bare6->matches("x", dest("2001:db8::2", 1)));

  auto any_v4 = parse_dst_match("0.0.0.0/0:5061");
  ASSERT_TRUE(any_v4.ok());
  EXPECT_TRUE(any_v4->matches("", dest("203.0.113.1", 5061)));
  EXPECT_FALSE(any_v4->matches("", dest("203.0.113.1", 443)));

  for (const char* bad : {"", ":", ":5061", "192.0.2.0/24:0", "192.0.2.0/24:65536",
                          "192.0.2.0/24:x", "[2001:db8::", "[2001:db8::]443", "300.0.0.1"}) {
    EXPECT_FALSE(parse_dst_match(bad).ok()) << bad;
  }
}

TEST(RuleSet, FirstMatchWinsAndIdsAreStable) {
  RuleSet set;
  Match sni;
  sni.sni = *SniPattern::parse("*.bank.example");
  Match net = *parse_dst_match("192.0.2.0/24");
  auto a = set.add(sni, Action::kTunnel);
  auto b = set.add(net, Action::kDeny);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);

  const Rule* hit = set.find("www.bank.example", dest("192.0.2.2", 443));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->action, Action::kTunnel);
  hit = set.find("other.example", dest("192.0.2.2", 443));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->action, Action::kDeny);
  EXPECT_EQ(set.find("other.example", dest("198.51.100.1", 443)), nullptr);

  EXPECT_TRUE(set.remove(*a));
  EXPECT_FALSE(set.remove(*a));
  hit = set.find("www.bank.example", dest("192.0.2.2", 443));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->id, *b);
  auto c = set.add(sni, Action::kIntercept);
  ASSERT_TRUE(c.ok());
  EXPECT_GT(*c, *b);  // ids are never reused

  EXPECT_FALSE(set.add(Match{}, Action::kTunnel).ok());
}

TEST(RuleSet, Bounded) {
  RuleSet set;
  Match m = *parse_dst_match("0.0.0.0/0:443");
  for (int i = 0; i < 4096; ++i) ASSERT_TRUE(set.add(m, Action::kTunnel).ok());
  EXPECT_FALSE(set.add(m, Action::kTunnel).ok());
}

TEST(Action, RoundTrips) {
  for (auto a : {Action::kIntercept, Action::kTunnel, Action::kDeny, Action::kAllowUndetected}) {
    EXPECT_EQ(*parse_action(to_string(a)), a);
  }
  EXPECT_FALSE(parse_action("bypass").ok());
}

}  // namespace
}  // namespace wb::policy
