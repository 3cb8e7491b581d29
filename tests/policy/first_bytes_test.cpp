// The one mapping from the first-bytes classifier to the policy (used by the interception
// handler and by `wirebump replay`), and the operator labels the policy gives each protocol on
// the wire and inside TLS.
#include "agent/policy/first_bytes.h"

#include <gtest/gtest.h>

#include <string_view>

namespace wb::policy {
namespace {

using peek::Kind;

peek::Peek done(Kind kind) {
  peek::Peek p;
  p.status = peek::Status::kDone;
  p.kind = kind;
  return p;
}

peek::Peek of(std::string_view text) {
  return peek::classify_client({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

TEST(FirstBytes, EveryKindMapsOnTheWireAndInsideTls) {
  struct Row {
    Kind kind;
    FirstBytes first;
    Inner inner;
  };
  const Row rows[] = {
      {Kind::kUnknown, FirstBytes::kUnknown, Inner::kUndetected},
      {Kind::kTls, FirstBytes::kTls, Inner::kUndetected},  // TLS in TLS: nothing we inspect
      {Kind::kPseudoTls, FirstBytes::kPseudoTls, Inner::kUndetected},
      {Kind::kSip, FirstBytes::kSip, Inner::kSip},
      {Kind::kHttp1, FirstBytes::kHttp, Inner::kHttp},
      {Kind::kHttp2, FirstBytes::kHttp, Inner::kHttp},
      {Kind::kStun, FirstBytes::kStunTurn, Inner::kTurn},
      {Kind::kMsTurn, FirstBytes::kMsTurnFraming, Inner::kMsTurn},
      {Kind::kTurnChannel, FirstBytes::kStunTurn, Inner::kTurn},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(first_bytes_kind(done(row.kind)), row.first) << peek::kind_name(row.kind);
    EXPECT_EQ(inner_kind(done(row.kind)), row.inner) << peek::kind_name(row.kind);
    // Undecided or malformed bytes are never taken for what they claim.
    for (auto status : {peek::Status::kNeedMore, peek::Status::kError}) {
      peek::Peek p = done(row.kind);
      p.status = status;
      EXPECT_EQ(first_bytes_kind(p), FirstBytes::kUnknown) << peek::kind_name(row.kind);
      EXPECT_EQ(inner_kind(p), Inner::kUndetected) << peek::kind_name(row.kind);
    }
  }
}

// The labels sessions get: plaintext SIP is "sip", SIP inside TLS "sips"; HTTP "http" / "https".
TEST(FirstBytes, ClassifierToSessionLabels) {
  Policy policy;
  const Destination dst{*IpAddress::parse("192.0.2.2"), 5060};
  const auto now = Clock::now();
  const auto sip = of("OPTIONS sip:bob@example.com SIP/2.0\r\n");
  EXPECT_EQ(policy.decide_plaintext(first_bytes_kind(sip), dst).label, session::Protocol::kSip);
  EXPECT_EQ(policy.decide_inner(inner_kind(sip), "sip.example", dst, false, now).label,
            session::Protocol::kSips);
  const auto http = of("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_EQ(policy.decide_plaintext(first_bytes_kind(http), dst).label, session::Protocol::kHttp);
  EXPECT_EQ(policy.decide_inner(inner_kind(http), "www.example", dst, false, now).label,
            session::Protocol::kHttps);
  const auto banner = of("CUSTOM-PROTO hello\n");
  EXPECT_EQ(policy.decide_inner(inner_kind(banner), "x.example", dst, false, now).kind,
            Decision::Kind::kDeny);
}

}  // namespace
}  // namespace wb::policy
