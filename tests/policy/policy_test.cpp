#include "agent/policy/policy.h"

#include <gtest/gtest.h>

namespace wb::policy {
namespace {

using namespace std::chrono_literals;
using Kind = Decision::Kind;

Destination dest(const char* ip, std::uint16_t port) {
  return {*IpAddress::parse(ip), port};
}
const std::vector<std::string> kNoAlpn;
const std::vector<std::string> kH2 = {"h2", "http/1.1"};

TEST(Policy, DefaultInterceptsTls) {
  Policy p;
  auto d = p.decide_tls("www.example.com", kH2, dest("192.0.2.2", 443), Clock::now());
  EXPECT_EQ(d.kind, Kind::kIntercept);
  EXPECT_FALSE(d.allow_undetected);
  EXPECT_EQ(d.reason, "default");
  EXPECT_TRUE(p.tunnel_on_error());
}

TEST(Policy, RulesBySniAndDestination) {
  Policy p;
  Match bank;
  bank.sni = *SniPattern::parse("*.bank.example");
  const auto tunnel_id = *p.add_rule(bank, Action::kTunnel);
  ASSERT_TRUE(p.add_rule(*parse_dst_match("198.51.100.0/24"), Action::kDeny).ok());
  Match exc;
  exc.sni = *SniPattern::parse("custom.example");
  ASSERT_TRUE(p.add_rule(exc, Action::kAllowUndetected).ok());

  auto d = p.decide_tls("www.bank.example", kNoAlpn, dest("192.0.2.2", 443), Clock::now());
  EXPECT_EQ(d.kind, Kind::kTunnel);
  EXPECT_EQ(d.label, Label::kTunnel);
  EXPECT_EQ(d.reason, "policy tunnel: rule " + std::to_string(tunnel_id) + " (sni=*.bank.example)");

  d = p.decide_tls("x.example", kNoAlpn, dest("198.51.100.7", 443), Clock::now());
  EXPECT_EQ(d.kind, Kind::kDeny);

  d = p.decide_tls("custom.example", kNoAlpn, dest("192.0.2.2", 443), Clock::now());
  EXPECT_EQ(d.kind, Kind::kIntercept);
  EXPECT_TRUE(d.allow_undetected);

  EXPECT_TRUE(p.remove_rule(tunnel_id));
  d = p.decide_tls("www.bank.example", kNoAlpn, dest("192.0.2.2", 443), Clock::now());
  EXPECT_EQ(d.kind, Kind::kIntercept);
  EXPECT_EQ(p.counters().tunnelled_by_rule, 1u);
  EXPECT_EQ(p.counters().denied_by_rule, 1u);
}

TEST(Policy, LearnedFailureTunnelsNextConnectionUntilExpiry) {
  auto created = Policy::create(PolicySettings{.learned_ttl = 30s});
  ASSERT_TRUE(created.ok());
  Policy& p = **created;
  const auto t0 = Clock::now();
  p.learn_failure("pinned.example", dest("192.0.2.2", 443),
                  LearnReason::kClientClosedAfterHandshake, "closed without data", t0);
  auto d = p.decide_tls("pinned.example", kH2, dest("192.0.2.2", 443), t0 + 1s);
  EXPECT_EQ(d.kind, Kind::kTunnel);
  EXPECT_EQ(d.reason, "learned: client_closed_after_handshake (closed without data)");
  EXPECT_EQ(p.decide_tls("pinned.example", kH2, dest("192.0.2.2", 443), t0 + 31s).kind,
            Kind::kIntercept);
  EXPECT_EQ(p.counters().tunnelled_learned, 1u);
}

TEST(Policy, DenyRuleBeatsLearnedTunnel) {
  Policy p;
  const auto t0 = Clock::now();
  p.learn_failure("x.example", dest("192.0.2.2", 443), LearnReason::kUpstreamHandshakeFailed, "",
                  t0);
  ASSERT_TRUE(p.add_rule(*parse_dst_match("192.0.2.2"), Action::kDeny).ok());
  EXPECT_EQ(p.decide_tls("x.example", kNoAlpn, dest("192.0.2.2", 443), t0).kind, Kind::kDeny);
}

TEST(Policy, DetectionOffTunnelsFromHelloWhenItCan) {
  Policy p;
  p.set_detect(Detect::kHttps, false);
  auto d = p.decide_tls("www.example.com", kH2, dest("192.0.2.2", 443), Clock::now());
  EXPECT_EQ(d.kind, Kind::kTunnel);
  EXPECT_EQ(d.reason, "detection off: https (ALPN)");
  // No ALPN: nothing tells us yet, so intercept and decide on the decrypted bytes.
  EXPECT_EQ(p.decide_tls("www.example.com", kNoAlpn, dest("192.0.2.2", 443), Clock::now()).kind,
            Kind::kIntercept);

  p.set_detect(Detect::kSips, false);
  d = p.decide_tls("sip.example.com", kNoAlpn, dest("192.0.2.2", 5061), Clock::now());
  EXPECT_EQ(d.kind, Kind::kTunnel);
  EXPECT_EQ(d.reason, "detection off: sips (port 5061)");
}

TEST(Policy, InnerDetectionHandsOffOrPassesThroughAndLearns) {
  Policy p;
  const auto t0 = Clock::now();
  const auto dst = dest("192.0.2.2", 443);
  auto d = p.decide_inner(Inner::kSip, "sip.example.com", dst, false, t0);
  EXPECT_EQ(d.kind, Kind::kInspect);
  EXPECT_EQ(d.label, Label::kSips);
  EXPECT_EQ(p.decide_inner(Inner::kHttp, "w", dst, false, t0).label, Label::kHttps);
  EXPECT_EQ(p.decide_inner(Inner::kMsTurn, "w", dst, false, t0).label, Label::kMsTurn);
  EXPECT_EQ(p.decide_inner(Inner::kTurn, "w", dst, false, t0).label, Label::kTurn);

  p.set_detect(Detect::kSips, false);
  d = p.decide_inner(Inner::kSip, "sip.example.com", dst, false, t0);
  EXPECT_EQ(d.kind, Kind::kTunnel);
  EXPECT_EQ(d.reason, "detection off: sips");
  // Learned: the next connection is tunnelled from the first byte.
  d = p.decide_tls("sip.example.com", kNoAlpn, dst, t0 + 1s);
  EXPECT_EQ(d.kind, Kind::kTunnel);
  EXPECT_EQ(d.reason, "learned: detection_off (detection off: sips)");
  // Switching detection back on forgets it.
  p.set_detect(Detect::kSips, true);
  EXPECT_EQ(p.decide_tls("sip.example.com", kNoAlpn, dst, t0 + 2s).kind, Kind::kIntercept);
}

TEST(Policy, UndetectedInsideTlsDeniedUnlessExcepted) {
  Policy p;
  const auto t0 = Clock::now();
  auto d = p.decide_inner(Inner::kUndetected, "banner.example", dest("192.0.2.2", 443), false, t0);
  EXPECT_EQ(d.kind, Kind::kDeny);
  EXPECT_EQ(d.label, Label::kUnknown);
  EXPECT_EQ(d.reason, "undetected protocol inside TLS");
  EXPECT_EQ(p.counters().undetected_denied, 1u);

  // The exception given by the TLS-time decision...
  d = p.decide_inner(Inner::kUndetected, "banner.example", dest("192.0.2.2", 443), true, t0);
  EXPECT_EQ(d.kind, Kind::kTunnel);
  // ...or found by a rule added since.
  Match m = *parse_dst_match("192.0.2.2:443");
  ASSERT_TRUE(p.add_rule(m, Action::kAllowUndetected).ok());
  d = p.decide_inner(Inner::kUndetected, "banner.example", dest("192.0.2.2", 443), false, t0);
  EXPECT_EQ(d.kind, Kind::kTunnel);
  EXPECT_EQ(d.label, Label::kUnknown);
  EXPECT_EQ(p.counters().undetected_allowed, 2u);
  EXPECT_EQ(
      p.decide_inner(Inner::kUndetected, "banner.example", dest("192.0.2.3", 443), false, t0).kind,
      Kind::kDeny);
}

TEST(Policy, PlaintextFirstBytes) {
  Policy p;
  const auto dst = dest("192.0.2.2", 443);
  auto d = p.decide_plaintext(FirstBytes::kPseudoTls, dst);
  EXPECT_EQ(d.kind, Kind::kInspect);
  EXPECT_EQ(d.label, Label::kMsTurn);
  EXPECT_EQ(p.decide_plaintext(FirstBytes::kSip, dst).label, Label::kSip);
  EXPECT_EQ(p.decide_plaintext(FirstBytes::kStunTurn, dst).label, Label::kTurn);
  EXPECT_EQ(p.decide_plaintext(FirstBytes::kHttp, dst).label, Label::kHttp);
  d = p.decide_plaintext(FirstBytes::kUnknown, dst);
  EXPECT_EQ(d.kind, Kind::kTunnel);
  EXPECT_EQ(d.label, Label::kUnknown);

  p.set_detect(Detect::kMsTurn, false);
  p.set_detect(Detect::kSip, false);
  EXPECT_EQ(p.decide_plaintext(FirstBytes::kPseudoTls, dst).kind, Kind::kTunnel);
  EXPECT_EQ(p.decide_plaintext(FirstBytes::kSip, dst).reason, "detection off: sip");

  p.set_deny_unknown_plaintext(true);
  EXPECT_EQ(p.decide_plaintext(FirstBytes::kUnknown, dst).kind, Kind::kDeny);
  ASSERT_TRUE(p.add_rule(*parse_dst_match("192.0.2.2"), Action::kAllowUndetected).ok());
  EXPECT_EQ(p.decide_plaintext(FirstBytes::kUnknown, dst).kind, Kind::kTunnel);
  ASSERT_TRUE(p.add_rule(*parse_dst_match("0.0.0.0/0:443"), Action::kDeny).ok());
  // The earlier allow-undetected rule still matches first.
  EXPECT_EQ(p.decide_plaintext(FirstBytes::kUnknown, dst).kind, Kind::kTunnel);
  EXPECT_EQ(p.decide_plaintext(FirstBytes::kSip, dest("192.0.2.9", 443)).kind, Kind::kDeny);
}

TEST(Policy, CreateFromSettingsNamesTheBadEntry) {
  PolicySettings s;
  s.rules = {{"*.bank.example", "", "tunnel"}, {"", "192.0.2.0/24:5061", "allow-undetected"}};
  s.detect = {{"sips", false}};
  s.tunnel_on_error = false;
  auto p = Policy::create(s);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ((*p)->rules().size(), 2u);
  EXPECT_FALSE((*p)->detect(Detect::kSips));
  EXPECT_TRUE((*p)->detect(Detect::kSip));
  EXPECT_FALSE((*p)->tunnel_on_error());

  s.rules.push_back({"", "192.0.2.0/99", "tunnel"});
  auto bad = Policy::create(s);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("policy rule 3"), std::string::npos)
      << bad.error().message();

  s.rules.pop_back();
  s.rules.push_back({"a.example", "", "bypass"});
  EXPECT_NE(Policy::create(s).error().message().find("unknown action 'bypass'"), std::string::npos);
  s.rules.pop_back();
  s.detect = {{"ftp", false}};
  EXPECT_NE(Policy::create(s).error().message().find("unknown protocol 'ftp'"), std::string::npos);
  EXPECT_FALSE(Policy::create(PolicySettings{.rules = {{"", "", "tunnel"}}}).ok());
}

TEST(Policy, DetectNames) {
  for (auto d : {Detect::kHttps, Detect::kSips, Detect::kSip, Detect::kMsTurn}) {
    EXPECT_EQ(*parse_detect(to_string(d)), d);
  }
}

}  // namespace
}  // namespace wb::policy
