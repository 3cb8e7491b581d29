// The classifier on everything that is not a ClientHello capture: the exact pseudo-TLS bytes of
// PROTOCOL-FACTS and its negative capture, MS-TURN, STUN, SIP (captures and Microsoft methods),
// HTTP/1.x, HTTP/2, server banners, and the operator labels.
#include <gtest/gtest.h>

#include "agent/peek/peek.h"
#include "tests/peek/samples.h"

namespace wb::test {
namespace {

using peek::Kind;
using peek::Status;

peek::Peek client(const Bytes& b) {
  return peek::classify_client(b);
}
peek::Peek server(const Bytes& b) {
  return peek::classify_server(b);
}

// [MS-TURN] 2.1.1 client hello: 16 03 01 00 2d | 01 00 00 29 | 03 01 | random | 00 |
// 00 02 00 18 | 01 00.
Bytes pseudo_tls_client(std::uint8_t random_fill) {
  Bytes b = hex("16 03 01 00 2d 01 00 00 29 03 01");
  for (int i = 0; i < 32; ++i) b.push_back(static_cast<std::uint8_t>(random_fill + i * 7));
  const Bytes tail = hex("00 00 02 00 18 01 00");
  b.insert(b.end(), tail.begin(), tail.end());
  return b;
}

TEST(PseudoTls, ExactProtocolFactsBytesArePseudoTls) {
  for (int fill : {0x00, 0x16, 0xff}) {
    const Bytes hello = pseudo_tls_client(static_cast<std::uint8_t>(fill));
    ASSERT_EQ(hello.size(), 50u);
    peek::Peek p = client(hello);
    ASSERT_TRUE(p.done());
    EXPECT_EQ(p.kind, Kind::kPseudoTls);
    EXPECT_EQ(p.consumed, 50u);
    EXPECT_TRUE(p.hello.sni.empty());
    EXPECT_EQ(p.hello.cipher_suites, (std::vector<std::uint16_t>{0x0018}));
    // Anything after the 50 bytes is the caller's; the decision does not change.
    Bytes longer = hello;
    longer.push_back(0x02);
    EXPECT_EQ(client(longer).kind, Kind::kPseudoTls);
  }
}

TEST(PseudoTls, ServerAnswerIsRecognised) {
  // 16 03 01 00 4e | 02 00 00 46 03 01 | 32 random | 20 | 32 session id | 00 18 00 | 0e 00 00 00
  Bytes b = hex("16 03 01 00 4e 02 00 00 46 03 01");
  b.insert(b.end(), 32, 0xab);
  b.push_back(0x20);
  b.insert(b.end(), 32, 0xcd);
  const Bytes tail = hex("00 18 00 0e 00 00 00");
  b.insert(b.end(), tail.begin(), tail.end());
  ASSERT_EQ(b.size(), 83u);
  peek::Peek p = server(b);
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.kind, Kind::kPseudoTls);
  EXPECT_EQ(p.consumed, 83u);
}

TEST(PseudoTls, SuricataNegativeCaptureIsRealTlsNotPseudoTls) {
  // Its client stream is 32 bytes of de ad be ef, then (frame 6) a minimal ClientHello with the
  // pseudo-TLS record and handshake lengths but body version 0x0303 and suite 0x009c.
  replay::Capture cap;
  auto t = flows_of(
      "suricata-verify/firewall_app-layer-protocol-negated-unknown-shortcircuit_input.pcap", &cap);
  ASSERT_EQ(t.flows.size(), 1u);
  const Bytes stream = client_bytes(t.flows[0]);
  ASSERT_EQ(stream.size(), 32u + 50 + 16);
  EXPECT_EQ(client(stream).kind, Kind::kUnknown);  // the stream starts with de ad be ef
  const Bytes hello(stream.begin() + 32, stream.begin() + 82);
  ASSERT_EQ(Bytes(hello.begin(), hello.begin() + 9), hex("16 03 01 00 2d 01 00 00 29"));
  peek::Peek p = client(hello);
  ASSERT_TRUE(p.done()) << p.error;
  EXPECT_NE(p.kind, Kind::kPseudoTls);
  EXPECT_EQ(p.kind, Kind::kTls);
  EXPECT_EQ(p.hello.legacy_version, 0x0303);
  EXPECT_EQ(p.hello.cipher_suites, (std::vector<std::uint16_t>{0x009c}));
}

TEST(PseudoTls, GoogleSslTcpIsAnSslV2HelloNotPseudoTls) {
  // webrtc AsyncSSLSocket's fixed hello: SSLv2 format, 80 46 01 03 01 00 2d 00 00 00 10.
  const Bytes b =
      hex("80 46 01 03 01 00 2d 00 00 00 10"
          "01 00 80 03 00 80 07 00 c0 06 00 40 02 00 80 04 00 80 00 00 04 00 fe ff 00 00 0a"
          "00 fe fe 00 00 09 00 00 64 00 00 62 00 00 03 00 00 06"
          "1f 17 0c a6 2f 00 78 fc 46 55 2e b1 83 39 f1 ea");
  ASSERT_EQ(b.size(), 72u);
  peek::Peek p = client(b);
  ASSERT_TRUE(p.done()) << p.error;
  EXPECT_EQ(p.kind, Kind::kTls);
  EXPECT_TRUE(p.hello.sslv2);
  EXPECT_EQ(p.hello.legacy_version, 0x0301);
  EXPECT_EQ(p.consumed, 72u);
}

// PROTOCOL-FACTS: a real Allocate request answered by a Lync 2010 Edge.
const char* kLyncAllocate =
    "00 03 00 0c 21 12 a4 42 f1 3c 08 4b 80 18 17 72 47 49 30 65 00 0f 00 04 72 c6 4b c6 00 06 "
    "00 00";

TEST(MsTurn, LyncAllocateIsMsTurn) {
  peek::Peek p = client(hex(kLyncAllocate));
  ASSERT_TRUE(p.done()) << p.error;
  EXPECT_EQ(p.kind, Kind::kMsTurn);
  EXPECT_EQ(p.stun.type, 0x0003);
  EXPECT_EQ(p.stun.length, 12);
  EXPECT_TRUE(p.stun.ms_magic_cookie);
  EXPECT_EQ(p.consumed, 32u);
}

TEST(MsTurn, FramedAllocateAsFirstDecryptedBytes) {
  Bytes framed = hex("02 00 00 20");
  const Bytes msg = hex(kLyncAllocate);
  framed.insert(framed.end(), msg.begin(), msg.end());
  peek::Peek p = client(framed);
  ASSERT_TRUE(p.done()) << p.error;
  EXPECT_EQ(p.kind, Kind::kMsTurn);
  EXPECT_EQ(p.stun.frame_type, 0x02);
  EXPECT_EQ(p.consumed, 36u);
  // A frame length that disagrees with the message inside is not MS-TURN framing.
  Bytes bad = framed;
  bad[3] = 0x24;
  EXPECT_NE(client(bad).kind, Kind::kMsTurn);
  // Framing type 0x01 is a stream error, not MS-TURN.
  bad = framed;
  bad[0] = 0x01;
  EXPECT_NE(client(bad).kind, Kind::kMsTurn);
}

TEST(Stun, Rfc5769SampleRequest) {
  const Bytes req =
      hex("00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
          "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
          "00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36"
          "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
          "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
          "80 28 00 04 e5 7a 3b cf");
  peek::Peek p = client(req);
  ASSERT_TRUE(p.done()) << p.error;
  EXPECT_EQ(p.kind, Kind::kStun);
  EXPECT_TRUE(p.stun.cookie);
  EXPECT_FALSE(p.stun.ms_magic_cookie);
  EXPECT_EQ(p.consumed, 108u);
  // Attributes that overrun the message length are an error, not a match.
  Bytes bad = req;
  bad[23] = 0x30;  // SOFTWARE length 0x10 -> 0x30
  EXPECT_EQ(client(bad).status, Status::kError);
}

TEST(Stun, ChannelData) {
  peek::Peek p = client(hex("40 01 00 05 01 02 03 04 05 00 00 00"));
  ASSERT_TRUE(p.done());
  EXPECT_EQ(p.kind, Kind::kTurnChannel);
  EXPECT_EQ(p.stun.channel, 0x4001);
  EXPECT_EQ(p.consumed, 12u);
}

// The one TCP flow of a capture, classified from the client's and the server's side.
std::pair<peek::Peek, peek::Peek> only_flow(std::string_view file) {
  auto t = flows_of(file);
  EXPECT_EQ(t.flows.size(), 1u) << file;
  if (t.flows.empty()) return {};
  return {client(client_bytes(t.flows[0])), server(server_bytes(t.flows[0]))};
}

TEST(Sip, TcpCapturesAreSip) {
  // suricata-verify sip-tcp-pattern-matching: REGISTER over TCP 5062, answered 401.
  auto [c, s] = only_flow("suricata-verify/sip-tcp-pattern-matching_sip.pcap");
  ASSERT_TRUE(c.done() && s.done());
  EXPECT_EQ(c.kind, Kind::kSip);
  EXPECT_EQ(c.line.method, "REGISTER");
  EXPECT_EQ(c.line.version, "SIP/2.0");
  EXPECT_EQ(s.kind, Kind::kSip);
  EXPECT_EQ(s.line.status, 401);
  // sip-body-large: INVITE whose 64 KiB body spans segments; the start line decides.
  auto [i, r] = only_flow("suricata-verify/sip-body-large_sip-body-large.pcap");
  ASSERT_TRUE(i.done() && r.done());
  EXPECT_EQ(i.kind, Kind::kSip);
  EXPECT_EQ(i.line.method, "INVITE");
  EXPECT_EQ(r.kind, Kind::kSip);
}

TEST(Sip, UdpCaptureDatagramsAreSip) {
  // nDPI sip.pcap.ndpiReader.out: flows 1 and 2 on 5060 are "proto: 100/SIP".
  auto t = flows_of("ndpi/sip.pcap");
  std::size_t sip = 0;
  for (const auto& f : t.flows) {
    if (f.client.port != 5060) continue;
    for (const auto& d : f.datagrams) {
      peek::Peek p = peek::classify_client(d.bytes);
      EXPECT_EQ(p.kind, Kind::kSip);
      sip += p.kind == Kind::kSip;
    }
  }
  EXPECT_GE(sip, 8u);
}

TEST(Sip, MicrosoftMethodsStatusLinesAndKeepalives) {
  for (const char* method : {"SERVICE", "BENOTIFY", "NEGOTIATE", "REGISTER", "INVITE"}) {
    const std::string line = std::string(method) + " sip:alice@contoso.com SIP/2.0\r\nVia: x\r\n";
    peek::Peek p = client(text(line));
    ASSERT_TRUE(p.done()) << method;
    EXPECT_EQ(p.kind, Kind::kSip) << method;
    EXPECT_EQ(p.line.method, method);
    EXPECT_EQ(p.line.target, "sip:alice@contoso.com");
    EXPECT_EQ(p.consumed, line.find('\n') + 1);
  }
  peek::Peek k = client(text("\r\n\r\n\r\nOPTIONS sip:bob@example.com SIP/2.0\r\n"));
  ASSERT_TRUE(k.done());
  EXPECT_EQ(k.kind, Kind::kSip);
  EXPECT_EQ(k.line.method, "OPTIONS");
  EXPECT_EQ(client(text("\r\n\r\n")).status, Status::kNeedMore);  // keepalive only: wait
  peek::Peek st = client(text("SIP/2.0 200 OK\r\n"));
  EXPECT_EQ(st.kind, Kind::kSip);
  EXPECT_EQ(st.line.status, 200);
}

TEST(Http, RequestAndStatusLinesAndHttp2) {
  peek::Peek g = client(text("GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"));
  ASSERT_TRUE(g.done());
  EXPECT_EQ(g.kind, Kind::kHttp1);
  EXPECT_EQ(g.line.method, "GET");
  EXPECT_EQ(g.line.target, "/index.html");
  EXPECT_EQ(g.line.version, "HTTP/1.1");
  EXPECT_EQ(client(text("CONNECT example.com:443 HTTP/1.0\n")).kind, Kind::kHttp1);
  EXPECT_EQ(client(text("GET / HTTP/1.1")).status, Status::kNeedMore);
  EXPECT_EQ(client(text("GET / HTTP/3.0\r\n")).kind, Kind::kUnknown);
  peek::Peek h2 = client(text("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  ASSERT_TRUE(h2.done());
  EXPECT_EQ(h2.kind, Kind::kHttp2);
  EXPECT_EQ(h2.consumed, 24u);

  peek::Peek r = server(text("HTTP/1.1 301 Moved Permanently\r\nLocation: /\r\n\r\n"));
  EXPECT_EQ(r.kind, Kind::kHttp1);
  EXPECT_EQ(r.line.status, 301);
  // A server's first HTTP/2 frame: SETTINGS, stream 0, three settings.
  peek::Peek s =
      server(hex("00 00 12 04 00 00 00 00 00 00 03 00 00 00 64 00 04 00 01 00 00 "
                 "00 02 00 00 00 00"));
  ASSERT_TRUE(s.done());
  EXPECT_EQ(s.kind, Kind::kHttp2);
  EXPECT_EQ(s.consumed, 27u);
}

TEST(Banner, UnknownServerFirstProtocols) {
  for (const char* banner : {"220 mail.example.com ESMTP Postfix\r\n", "SSH-2.0-OpenSSH_9.2p1\r\n",
                             "* OK [CAPABILITY IMAP4rev1] ready\r\n", "+OK POP3 ready\r\n"}) {
    peek::Peek p = server(text(banner));
    ASSERT_TRUE(p.done()) << banner;
    EXPECT_EQ(p.kind, Kind::kUnknown) << banner;
  }
  // A custom binary banner inside TLS.
  EXPECT_EQ(server(hex("00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00")).kind,
            Kind::kUnknown);
  // SIP servers may speak first (OPTIONS keepalive from the far end).
  EXPECT_EQ(server(text("OPTIONS sip:a@b SIP/2.0\r\n")).kind, Kind::kSip);
}

// Stable names (`wirebump replay` prints them).
TEST(Kinds, StableNames) {
  const std::pair<Kind, std::string_view> names[] = {{Kind::kUnknown, "unknown"},
                                                     {Kind::kTls, "tls"},
                                                     {Kind::kPseudoTls, "pseudo-tls"},
                                                     {Kind::kSip, "sip"},
                                                     {Kind::kHttp1, "http/1"},
                                                     {Kind::kHttp2, "http/2"},
                                                     {Kind::kStun, "stun"},
                                                     {Kind::kMsTurn, "ms-turn"},
                                                     {Kind::kTurnChannel, "turn-channel"}};
  for (const auto& [kind, name] : names) EXPECT_EQ(peek::kind_name(kind), name);
}

}  // namespace
}  // namespace wb::test
