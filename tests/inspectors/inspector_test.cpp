// The inspectors through the factory, as the agent uses them: state per session from crafted
// Lync SIP flows, MS-TURN and TURN sessions and HTTP exchanges; the same state whatever the
// chunking; malformed SIP relayed or denied per configuration; Alt-Svc h3 removal by filter().
#include <gtest/gtest.h>

#include "inspectors/factory.h"
#include "inspectors/turn/stun_builder.h"
#include "tests/inspectors/samples.h"

namespace wb::test {
namespace {

using inspect::Direction;
using Span = std::span<const std::uint8_t>;

std::unique_ptr<inspect::Inspector> make(const std::string& label, inspect::Options options = {}) {
  auto made = inspect::make_inspector(label, options);
  EXPECT_TRUE(made.ok()) << (made.ok() ? "" : made.error().message());
  return made.ok() ? std::move(made).value() : nullptr;
}

// Feeds chunks [0, count) of a flow; returns the inspector.
std::unique_ptr<inspect::Inspector> feed(const Flow& flow, std::size_t count = SIZE_MAX,
                                         inspect::Options options = {}) {
  auto inspector = make(flow.protocol, options);
  for (std::size_t i = 0; i < flow.chunks.size() && i < count; ++i) {
    auto verdict = inspector->on_data(flow.chunks[i].first, flow.chunks[i].second);
    EXPECT_FALSE(verdict.denied()) << flow.name << " chunk " << i << ": " << verdict.reason;
  }
  return inspector;
}

TEST(Factory, LabelsAndUnknown) {
  for (std::string label : {"sip", "sips", "ms-turn", "turn", "http", "https"}) {
    auto inspector = make(label);
    ASSERT_NE(inspector, nullptr);
    EXPECT_EQ(inspector->protocol(), label);
  }
  auto unknown = inspect::make_inspector("smtp", {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message().find("smtp"), std::string::npos);
  EXPECT_FALSE(make("https")->rewrites());
  inspect::Options quic;
  quic.block_quic = true;
  EXPECT_TRUE(make("https", quic)->rewrites());
}

TEST(SipInspector, LyncRegisterWithNtlm) {
  Flow flow = sip_register_flow("NTLM");
  auto registered = feed(flow, 6);
  EXPECT_EQ(registered->brief(),
            "alice@example.com REGISTER 200 dialogs=0 reg=registered auth=NTLM,TLS-DSK");
  auto inspector = feed(flow);
  nlohmann::json detail = inspector->detail();
  EXPECT_EQ(detail["protocol"], "sips");
  EXPECT_EQ(detail["registration"]["aor"], "alice@example.com");
  EXPECT_EQ(detail["registration"]["state"], "registered");
  EXPECT_EQ(detail["registration"]["expires"], 7200);
  EXPECT_EQ(detail["auth_used"], "NTLM");
  EXPECT_EQ(detail["server"], "RTC/6.0");
  EXPECT_EQ(detail["methods"]["REGISTER"], 2);
  EXPECT_EQ(detail["methods"]["SERVICE"], 1);
  EXPECT_EQ(detail["methods"]["BENOTIFY"], 1);
  EXPECT_EQ(detail["streams"]["client"]["keepalive_bytes"], 4);
  EXPECT_EQ(detail["malformed"], 0);
  // After the 401 only: challenged.
  EXPECT_EQ(feed(flow, 2)->brief(),
            "alice@example.com REGISTER 401 dialogs=0 reg=challenged auth=NTLM,TLS-DSK");
}

TEST(SipInspector, KerberosAndTlsDskOffers) {
  for (std::string scheme : {"Kerberos", "TLS-DSK"}) {
    auto inspector = feed(sip_register_flow(scheme));
    nlohmann::json detail = inspector->detail();
    EXPECT_EQ(detail["auth_offered"][0], scheme);
    EXPECT_EQ(detail["auth_used"], scheme);
    EXPECT_EQ(detail["registration"]["state"], "registered");
  }
}

TEST(SipInspector, DialogFromInviteToBye) {
  Flow flow = sip_dialog_flow();
  EXPECT_EQ(feed(flow, 2)->detail()["dialogs"][0]["state"], "early");
  auto established = feed(flow, 4);
  EXPECT_EQ(established->brief(), "alice@example.com ACK 200 dialogs=1 reg=none");
  nlohmann::json dialog = established->detail()["dialogs"][0];
  EXPECT_EQ(dialog["state"], "established");
  EXPECT_EQ(dialog["from"], "alice@example.com");
  EXPECT_EQ(dialog["to"], "bob@example.com");
  EXPECT_EQ(dialog["from_tag"], "9fxced76sl");
  EXPECT_EQ(dialog["to_tag"], "8321234356");
  EXPECT_EQ(dialog["media"].size(), 4u);  // audio + video offered and answered
  EXPECT_EQ(dialog["media"][0], "audio 49170 RTP/SAVP 0 8 101");
  EXPECT_EQ(dialog["candidates"].size(), 6u);
  EXPECT_EQ(dialog["candidates"][2],
            "3 1 UDP 16648703 203.0.113.50 52000 typ relay raddr 198.51.100.7 rport 3478");
  EXPECT_EQ(dialog["connections"].size(), 2u);
  auto done = feed(flow);
  EXPECT_EQ(done->brief(), "alice@example.com BYE 200 dialogs=0 reg=none");
  EXPECT_EQ(done->detail()["dialogs"][0]["state"], "terminated");
}

TEST(SipInspector, NegotiatedCompressionMakesTheStreamOpaque) {
  auto inspector = feed(sip_negotiate_flow());
  nlohmann::json detail = inspector->detail();
  EXPECT_TRUE(detail["compressed"].get<bool>());
  EXPECT_EQ(detail["malformed"], 0);
  EXPECT_EQ(detail["streams"]["server"]["opaque_bytes"], 300);
  EXPECT_EQ(detail["streams"]["client"]["opaque_bytes"], 500);
  EXPECT_NE(inspector->brief().find("compressed"), std::string::npos);
}

TEST(SipInspector, MalformedIsRelayedByDefaultAndDeniedWhenConfigured) {
  auto garbage = bytes_of("HELLO THERE\r\n\r\n");
  auto relaying = make("sip");
  EXPECT_FALSE(relaying->on_data(Direction::kClientToServer, garbage).denied());
  EXPECT_FALSE(relaying->on_data(Direction::kClientToServer, garbage).denied());
  EXPECT_EQ(relaying->detail()["malformed"], 1);
  EXPECT_NE(relaying->brief().find("malformed=1"), std::string::npos);
  inspect::Options deny;
  deny.sip_deny_malformed = true;
  auto denying = make("sips", deny);
  auto verdict = denying->on_data(Direction::kClientToServer, garbage);
  ASSERT_TRUE(verdict.denied());
  EXPECT_NE(verdict.reason.find("malformed SIP"), std::string::npos);
  // Well-formed traffic is never denied, even with deny configured.
  feed(sip_dialog_flow(), SIZE_MAX, deny);
}

TEST(TurnInspector, MsTurnAllocationAndMedia) {
  auto inspector = feed(ms_turn_flow());
  nlohmann::json detail = inspector->detail();
  EXPECT_EQ(detail["protocol"], "ms-turn");
  EXPECT_TRUE(detail["pseudo_tls"]["client"].get<bool>());
  EXPECT_TRUE(detail["pseudo_tls"]["server"].get<bool>());
  EXPECT_EQ(detail["allocation"]["relayed"], "198.51.100.20:50000");
  EXPECT_EQ(detail["allocation"]["reflexive"], "192.0.2.1:40001");
  EXPECT_EQ(detail["allocation"]["lifetime"], 600);
  EXPECT_EQ(detail["allocation"]["refreshes"], 1);
  EXPECT_EQ(detail["ms_version"], 2);
  EXPECT_EQ(detail["last_error_code"], 401);
  EXPECT_EQ(detail["active_destination"], "203.0.113.9:3480");
  EXPECT_EQ(detail["missing_magic_cookie"], 0);
  EXPECT_EQ(detail["peers"]["203.0.113.9:3480"]["bytes_to_peer"], 160 + 200 + 40);
  EXPECT_EQ(detail["peers"]["203.0.113.9:3480"]["bytes_from_peer"], 172 + 1000);
  EXPECT_EQ(
      inspector->brief(),
      "alloc=198.51.100.20:50000 lifetime=600 refreshes=1 peers=1 sent=400 recv=1172 ms-version=2");
}

TEST(TurnInspector, MsTurnIpv6Allocation) {
  // An Allocate over IPv6 ([MS-TURN] 2.2.2.16): the reflexive MS-XOR-MAPPED-ADDRESS is XORed with
  // the 128-bit Transaction ID, the relayed MAPPED-ADDRESS is plain. The id does not start with
  // the RFC 5389 cookie, so a cookie-based key would decode a wrong address.
  using namespace wb::turn;
  std::array<std::uint8_t, 16> id = {0x91, 0x0e, 0x33, 0x5a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  Flow flow{"ms-turn ipv6", "ms-turn", {}};
  flow.chunks.push_back(
      {Direction::kClientToServer, ms_frame(2, MessageBuilder(0x0003, id, Dialect::kMsTurn)
                                                   .add_u32(attr::kMsVersion, 2)
                                                   .add_u32(attr::kLifetime, 600)
                                                   .finish())});
  flow.chunks.push_back(
      {Direction::kServerToClient,
       ms_frame(2,
                MessageBuilder(0x0103, id, Dialect::kMsTurn)
                    .add_address(attr::kMappedAddress, ip_endpoint("2001:db8:5::20", 50000), false)
                    .add_address(attr::kMsXorMappedAddress, ip_endpoint("2001:db8::1", 40001), true)
                    .add_address(attr::kMsAlternateMappedAddress,
                                 ip_endpoint("2001:db8:5::21", 50002), false)
                    .add_u32(attr::kLifetime, 480)
                    .finish())});
  auto inspector = feed(flow);
  nlohmann::json detail = inspector->detail();
  EXPECT_EQ(detail["allocation"]["relayed"], "[2001:db8:5::20]:50000");
  EXPECT_EQ(detail["allocation"]["reflexive"], "[2001:db8::1]:40001");
  EXPECT_EQ(detail["allocation"]["relayed_alternate"], "[2001:db8:5::21]:50002");
  EXPECT_EQ(detail["allocation"]["lifetime"], 480);
}

TEST(TurnInspector, RfcTurnAllocationPermissionsChannels) {
  auto inspector = feed(turn_flow());
  nlohmann::json detail = inspector->detail();
  EXPECT_EQ(detail["allocation"]["relayed"], "192.0.2.2:49152");
  EXPECT_EQ(detail["allocation"]["reflexive"], "192.0.2.1:40000");
  EXPECT_EQ(detail["allocation"]["lifetime"], 300);
  EXPECT_EQ(detail["allocation"]["refreshes"], 1);
  EXPECT_EQ(detail["permissions"], nlohmann::json::array({"203.0.113.5"}));
  EXPECT_EQ(detail["channels"]["16384"], "203.0.113.5:6000");
  EXPECT_EQ(detail["peers"]["203.0.113.5:6000"]["bytes_to_peer"], 99 + 13 + 64);
  EXPECT_EQ(detail["peers"]["203.0.113.5:6000"]["bytes_from_peer"], 101 + 30);
  EXPECT_EQ(detail["username"], "user");
}

TEST(HttpInspector, ExchangesAndHttp2) {
  auto inspector = feed(http1_flow());
  nlohmann::json detail = inspector->detail();
  ASSERT_EQ(detail["exchanges"].size(), 3u);
  EXPECT_EQ(detail["exchanges"][0]["host"], "www.example.com");
  EXPECT_EQ(detail["exchanges"][0]["status"], 200);
  EXPECT_EQ(detail["exchanges"][0]["content_type"], "text/html");
  EXPECT_EQ(detail["exchanges"][0]["response_bytes"], 12);
  EXPECT_TRUE(detail["exchanges"][0]["chunked"].get<bool>());
  EXPECT_EQ(detail["exchanges"][1]["method"], "HEAD");
  EXPECT_EQ(detail["exchanges"][2]["request_bytes"], 11);
  EXPECT_EQ(detail["exchanges"][2]["status"], 201);
  EXPECT_EQ(inspector->brief(), "POST www.example.com/upload 201 text/plain 2B exchanges=3");
  auto h2 = feed(http2_flow());
  EXPECT_EQ(h2->brief(), "h2 frames=7 streams=1");
}

std::vector<std::uint8_t> filtered(inspect::Inspector& inspector, const Flow& flow,
                                   std::size_t chunk, std::size_t split) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i < flow.chunks.size(); ++i) {
    const auto& [direction, bytes] = flow.chunks[i];
    std::vector<std::uint8_t> piece;
    Span all(bytes);
    if (i == chunk) {
      inspector.filter(direction, all.first(std::min(split, all.size())), piece);
      inspector.filter(direction, all.subspan(std::min(split, all.size())), piece);
    } else {
      inspector.filter(direction, all, piece);
    }
    if (direction == Direction::kServerToClient) out.insert(out.end(), piece.begin(), piece.end());
  }
  return out;
}

TEST(HttpInspector, AltSvcH3RemovedAtEverySplitPoint) {
  inspect::Options quic;
  quic.block_quic = true;
  Flow flow = http1_flow();
  std::string expected(reinterpret_cast<const char*>(flow.chunks[1].second.data()),
                       flow.chunks[1].second.size());
  expected.replace(expected.find("Alt-Svc: h3=\":443\"; ma=86400, h2=\":443\"; ma=60"),
                   std::string("Alt-Svc: h3=\":443\"; ma=86400, h2=\":443\"; ma=60").size(),
                   "Alt-Svc: h2=\":443\"; ma=60");
  expected.erase(expected.find("alt-svc: h3-29=\":443\"\r\n"),
                 std::string("alt-svc: h3-29=\":443\"\r\n").size());
  for (std::size_t split = 0; split <= flow.chunks[1].second.size(); ++split) {
    auto inspector = make("https", quic);
    auto out = filtered(*inspector, flow, 1, split);
    ASSERT_EQ(std::string(out.begin(), out.end()), expected) << "split " << split;
    ASSERT_EQ(inspector->detail()["alt_svc_removed"], 2);
  }
  // HTTP/2: the ALTSVC frame (9 + 26 bytes) is dropped, everything else passes.
  Flow h2 = http2_flow();
  auto server = h2.stream(Direction::kServerToClient);
  for (std::size_t split = 0; split <= server.size(); ++split) {
    auto inspector = make("https", quic);
    auto out = filtered(*inspector, h2, 1, split);
    ASSERT_EQ(out.size(), server.size() - 35) << split;
    ASSERT_EQ(inspector->detail()["h2_altsvc_frames_dropped"], 1);
  }
  // Without QUIC blocking nothing changes.
  auto plain = make("https");
  auto out = filtered(*plain, flow, 99, 0);
  EXPECT_EQ(out, flow.stream(Direction::kServerToClient));
}

TEST(Inspectors, DetailIsValidJsonForAnyBytes) {
  // Header values are not validated as UTF-8 by the parsers; detail() must still serialise
  // (nlohmann::json::dump throws on invalid UTF-8). Found by fuzz_sip_parser.
  std::string bad = "\xff\xfe\xc3(\xe2\x82 ok \xc3\xa9";
  auto sip = make("sip");
  sip->on_data(
      Direction::kClientToServer,
      bytes_of(sip_message("REGISTER sip:x SIP/2.0", {"To: <sip:" + bad + "@x>", "Call-ID: " + bad,
                                                      "CSeq: 1 REGISTER", "User-Agent: " + bad})));
  std::string dumped;
  ASSERT_NO_THROW(dumped = sip->detail().dump());
  EXPECT_NE(dumped.find("? ok \u00e9"), std::string::npos) << dumped;  // valid é kept
  auto http = make("http");
  http->on_data(Direction::kClientToServer,
                bytes_of("GET /" + bad + " HTTP/1.1\r\nHost: " + bad + "\r\n\r\n"));
  EXPECT_NO_THROW(http->detail().dump());
  EXPECT_NO_THROW(http->brief());
}

TEST(Inspectors, SameStateWhateverTheChunking) {
  for (const Flow& flow : all_flows()) {
    SCOPED_TRACE(flow.name);
    const std::string whole = feed(flow)->detail().dump();
    for (std::size_t chunk = 0; chunk < flow.chunks.size(); ++chunk) {
      const auto& bytes = flow.chunks[chunk].second;
      for (std::size_t split = 1; split < bytes.size(); split += (bytes.size() > 2000 ? 7 : 1)) {
        auto inspector = make(flow.protocol);
        for (std::size_t i = 0; i < flow.chunks.size(); ++i) {
          Span all(flow.chunks[i].second);
          if (i == chunk) {
            inspector->on_data(flow.chunks[i].first, all.first(split));
            inspector->on_data(flow.chunks[i].first, all.subspan(split));
          } else {
            inspector->on_data(flow.chunks[i].first, all);
          }
        }
        ASSERT_EQ(inspector->detail().dump(), whole) << "chunk " << chunk << " split " << split;
      }
    }
  }
}

}  // namespace
}  // namespace wb::test
