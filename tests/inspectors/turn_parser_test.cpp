// MS-TURN / TURN parsing: the real Lync Allocate request from PROTOCOL-FACTS, classic STUN from
// nDPI's capture, the pseudo-TLS hellos, MS-TURN framing, RFC 5766 STUN + ChannelData streams,
// every truncation and split point, and garbage.
#include <gtest/gtest.h>

#include <random>

#include "inspectors/turn/pseudo_tls.h"
#include "inspectors/turn/stun_builder.h"
#include "inspectors/turn/turn_stream.h"
#include "tests/inspectors/capture_streams.h"
#include "tests/inspectors/samples.h"
#include "tests/inspectors/split_check.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

using namespace wb::turn;
using Span = std::span<const std::uint8_t>;

// [MS-TURN] Allocate request answered by a Lync 2010 Edge (PROTOCOL-FACTS.md).
const std::vector<std::uint8_t> kLyncAllocate = {
    0x00, 0x03, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42, 0xf1, 0x3c, 0x08, 0x4b, 0x80, 0x18, 0x17, 0x72,
    0x47, 0x49, 0x30, 0x65, 0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6, 0x00, 0x06, 0x00, 0x00};

std::string describe(const Message& m) {
  std::string text =
      std::string(message_name(m.type, m.dialect)) + " attrs=" + std::to_string(m.attribute_count);
  for (std::size_t i = 0; i < m.attribute_count; ++i) {
    text += " " + std::to_string(m.attributes[i].type) + ":" +
            std::to_string(m.attributes[i].value.size());
  }
  return text;
}

RunResult run_turn(Role role, const std::vector<Span>& chunks) {
  TurnStream stream(role);
  RunResult result;
  for (Span chunk : chunks) {
    while (!chunk.empty()) {
      Event event = stream.feed(chunk);
      EXPECT_LE(event.consumed, chunk.size());
      chunk = chunk.subspan(event.consumed);
      switch (event.kind) {
        case Event::Kind::kNeedMore:
          EXPECT_TRUE(chunk.empty());
          break;
        case Event::Kind::kPseudoTls:
          result.events.push_back("pseudo-tls");
          break;
        case Event::Kind::kMessage:
          result.events.push_back(describe(stream.message()));
          break;
        case Event::Kind::kData:
          result.events.push_back("data " + std::to_string(event.size));
          break;
        case Event::Kind::kChannelData:
          result.events.push_back("channel " + std::to_string(event.channel) + " " +
                                  std::to_string(event.size));
          break;
        case Event::Kind::kError:
          result.failed = true;
          result.events.push_back("error: " + std::string(stream.error()));
          return result;
      }
      if (event.kind == Event::Kind::kNeedMore) break;
    }
  }
  return result;
}

TEST(TurnParser, LyncAllocateRequestDecodesWithMagicCookie) {
  Message message;
  std::string_view error;
  ASSERT_EQ(decode(kLyncAllocate, Dialect::kMsTurn, message, error), DecodeStatus::kOk) << error;
  EXPECT_EQ(message.type, 0x0003);
  EXPECT_EQ(message_name(message.type, Dialect::kMsTurn), "Allocate");
  EXPECT_EQ(message.length, 12);
  EXPECT_TRUE(message.ms_magic_cookie);
  ASSERT_EQ(message.attribute_count, 2u);
  EXPECT_EQ(message.attributes[0].type, attr::kMsMagicCookie);
  EXPECT_EQ(u32_value(&message.attributes[0]).value_or(0), kMsMagicCookie);
  EXPECT_EQ(message.attributes[1].type, attr::kUsername);
  EXPECT_TRUE(message.attributes[1].value.empty());
  // Framed as on the wire after the pseudo-TLS exchange, at every split point.
  std::array<std::uint8_t, 32> random{};
  auto hello = make_pseudo_tls_client(random);
  std::vector<std::uint8_t> stream(hello.begin(), hello.end());
  auto frame = ms_frame(2, kLyncAllocate);
  stream.insert(stream.end(), frame.begin(), frame.end());
  RunResult whole = run_turn(Role::kClient, {Span(stream)});
  ASSERT_EQ(whole.events.size(), 2u) << whole;
  EXPECT_EQ(whole.events[0], "pseudo-tls");
  EXPECT_EQ(whole.events[1], "Allocate attrs=2 15:4 6:0");
  expect_chunking_invariant(stream, [](auto chunks) { return run_turn(Role::kClient, chunks); });
}

TEST(TurnParser, PseudoTlsHellosAndTheNegativeCase) {
  std::array<std::uint8_t, 32> random{};
  for (std::size_t i = 0; i < random.size(); ++i) random[i] = static_cast<std::uint8_t>(0xf0 - i);
  auto hello = make_pseudo_tls_client(random);
  auto answer = make_pseudo_tls_server(random, random);
  EXPECT_EQ(check_pseudo_tls_client(hello), HelloCheck::kMatch);
  EXPECT_EQ(check_pseudo_tls_server(answer), HelloCheck::kMatch);
  for (std::size_t n = 0; n < hello.size(); ++n) {
    EXPECT_EQ(check_pseudo_tls_client(Span(hello).first(n)), HelloCheck::kNeedMore) << n;
  }
  for (std::size_t n = 0; n < answer.size(); ++n) {
    EXPECT_EQ(check_pseudo_tls_server(Span(answer).first(n)), HelloCheck::kNeedMore) << n;
  }
  EXPECT_EQ(hello[0], 0x16);
  EXPECT_EQ(hello[4], 0x2d);
  EXPECT_EQ(answer[4], 0x4e);
  // suricata-verify's synthetic TLS 1.2 hello shares the first 9 bytes but is not pseudo-TLS.
  CaptureStreams streams = read_streams(testdata_path(
      "suricata-verify/firewall_app-layer-protocol-negated-unknown-shortcircuit_input.pcap"));
  ASSERT_EQ(streams.error, "");
  ASSERT_FALSE(streams.tcp.empty());
  const auto& first = streams.tcp.front().to_server;
  ASSERT_GE(first.size(), 9u);
  EXPECT_EQ(check_pseudo_tls_client(first), HelloCheck::kMismatch);
  RunResult result = run_turn(Role::kClient, {Span(first)});
  EXPECT_TRUE(result.failed);
}

TEST(TurnParser, ClassicStunFromNdpiCapture) {
  CaptureStreams streams = read_streams(testdata_path("ndpi/stun_classic.pcap"));
  ASSERT_EQ(streams.error, "");
  ASSERT_GE(streams.udp.size(), 2u);
  Message request, response;
  std::string_view error;
  ASSERT_EQ(decode(streams.udp[0].bytes, Dialect::kClassic, request, error), DecodeStatus::kOk)
      << error;
  EXPECT_EQ(request.type, 0x0001);           // Binding request
  ASSERT_NE(request.find(0x0003), nullptr);  // CHANGE-REQUEST
  ASSERT_EQ(decode(streams.udp[1].bytes, Dialect::kClassic, response, error), DecodeStatus::kOk)
      << error;
  EXPECT_EQ(response.type, 0x0101);
  EXPECT_EQ(response.transaction, request.transaction);
  const Attribute* mapped = response.find(attr::kMappedAddress);
  ASSERT_NE(mapped, nullptr);
  auto endpoint = decode_address(mapped->value, nullptr);
  ASSERT_TRUE(endpoint.has_value());
  // The mapped address is the requester's own address as the capture shows it.
  EXPECT_EQ(endpoint->to_string(), streams.udp[0].source);
  // Without the cookie the RFC 5389 decoder refuses it, and media after it is not STUN.
  EXPECT_EQ(decode(streams.udp[0].bytes, Dialect::kRfc5389, request, error), DecodeStatus::kError);
  std::size_t not_stun = 0;
  for (std::size_t i = 2; i < streams.udp.size(); ++i) {
    if (decode(streams.udp[i].bytes, Dialect::kClassic, request, error) == DecodeStatus::kError)
      ++not_stun;
  }
  EXPECT_GT(not_stun, 0u);
}

TEST(TurnParser, CraftedSessionsSurviveEveryChunking) {
  for (const Flow& flow : {ms_turn_flow(), turn_flow()}) {
    SCOPED_TRACE(flow.name);
    for (auto [direction, role] : {std::pair{inspect::Direction::kClientToServer, Role::kClient},
                                   std::pair{inspect::Direction::kServerToClient, Role::kServer}}) {
      std::vector<std::uint8_t> data = flow.stream(direction);
      RunResult whole = run_turn(role, {Span(data)});
      ASSERT_FALSE(whole.failed) << whole;
      ASSERT_GE(whole.events.size(), 4u) << whole;
      Role r = role;
      expect_chunking_invariant(data, [r](auto chunks) { return run_turn(r, chunks); });
    }
  }
}

TEST(TurnParser, RfcAddressesDecodeXored) {
  Flow flow = turn_flow();
  std::vector<std::uint8_t> server = flow.stream(inspect::Direction::kServerToClient);
  TurnStream stream(Role::kServer);
  Span rest(server);
  bool found = false;
  while (!rest.empty() && !found) {
    Event event = stream.feed(rest);
    rest = rest.subspan(event.consumed);
    if (event.kind == Event::Kind::kMessage && stream.message().type == 0x0103) {
      const Message& m = stream.message();
      XorKey key = xor_key(m);
      auto relayed = decode_address(m.find(attr::kXorRelayedAddress)->value, &key);
      ASSERT_TRUE(relayed.has_value());
      EXPECT_EQ(relayed->to_string(), "192.0.2.2:49152");
      EXPECT_EQ(u32_value(m.find(attr::kLifetime)).value_or(0), 600u);
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

// RFC 5769 2.2 (IPv6 response): XOR-MAPPED-ADDRESS of 2001:db8:1234:5678:11:2233:4455:6677 port
// 32853 under transaction id b7e7a701 bc34d686 fa87dfae; the address is XORed with the cookie
// followed by the 96-bit id.
const std::vector<std::uint8_t> kRfc5769Ipv6 = {
    0x01, 0x01, 0x00, 0x18, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6,
    0x86, 0xfa, 0x87, 0xdf, 0xae, 0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13,
    0xa9, 0xfa, 0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9};

// [MS-TURN] 2.2.2.16: an Allocate response whose 128-bit Transaction ID starts 0x4455 (the
// spec's own example: port 0x1122 ^ 0x4455 = X-Port 0x5577), with MS-XOR-MAPPED-ADDRESS for
// 192.0.2.1:4386 (address ^ the id's first 32 bits) and for [2001:db8::1]:4386 (address ^ all
// 128 bits of the id). Written out by hand, not by the builder under test.
const std::vector<std::uint8_t> kMsTurnXorMapped = {
    0x01, 0x03, 0x00, 0x2c,                          // Allocate response, length 44
    0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,  // Transaction ID (16 bytes)
    0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33,  //
    0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6,  // MAGIC-COOKIE
    0x80, 0x20, 0x00, 0x08, 0x00, 0x01, 0x55, 0x77,  // MS-XOR-MAPPED-ADDRESS IPv4, X-Port
    0x84, 0x55, 0x64, 0x76,                          // 192.0.2.1 ^ 44556677
    0x80, 0x20, 0x00, 0x14, 0x00, 0x02, 0x55, 0x77,  // MS-XOR-MAPPED-ADDRESS IPv6, X-Port
    0x64, 0x54, 0x6b, 0xcf, 0x88, 0x99, 0xaa, 0xbb,  // 2001:0db8::1 ^ the 128-bit id
    0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x32};

TEST(TurnParser, XorAddressIpv6PerRfc5769) {
  Message m;
  std::string_view error;
  ASSERT_EQ(decode(kRfc5769Ipv6, Dialect::kRfc5389, m, error), DecodeStatus::kOk) << error;
  XorKey key = xor_key(m);
  auto mapped = decode_address(m.find(attr::kXorMappedAddress)->value, &key);
  ASSERT_TRUE(mapped.has_value());
  EXPECT_EQ(mapped->family, 2);
  EXPECT_EQ(mapped->to_string(), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  // The builder encodes the same bytes.
  std::array<std::uint8_t, 16> id{};
  std::copy(kRfc5769Ipv6.begin() + 4, kRfc5769Ipv6.begin() + 20, id.begin());
  auto built = MessageBuilder(0x0101, id, Dialect::kRfc5389)
                   .add_address(attr::kXorMappedAddress,
                                ip_endpoint("2001:db8:1234:5678:11:2233:4455:6677", 32853), true)
                   .finish();
  EXPECT_EQ(built, kRfc5769Ipv6);
}

TEST(TurnParser, MsTurnXorMappedAddressUsesTheTransactionId) {
  Message m;
  std::string_view error;
  ASSERT_EQ(decode(kMsTurnXorMapped, Dialect::kMsTurn, m, error), DecodeStatus::kOk) << error;
  EXPECT_TRUE(m.ms_magic_cookie);
  ASSERT_EQ(m.attribute_count, 3u);
  XorKey key = xor_key(m);
  auto v4 = decode_address(m.attributes[1].value, &key);
  auto v6 = decode_address(m.attributes[2].value, &key);
  ASSERT_TRUE(v4.has_value());
  ASSERT_TRUE(v6.has_value());
  EXPECT_EQ(v4->port, 0x1122);  // the spec's example
  EXPECT_EQ(v4->to_string(), "192.0.2.1:4386");
  EXPECT_EQ(v6->to_string(), "[2001:db8::1]:4386");
  // The builder (used by the MS-TURN test peer) writes exactly these bytes.
  std::array<std::uint8_t, 16> id{};
  std::copy(kMsTurnXorMapped.begin() + 4, kMsTurnXorMapped.begin() + 20, id.begin());
  auto built = MessageBuilder(0x0103, id, Dialect::kMsTurn)
                   .add_address(attr::kMsXorMappedAddress, ip_endpoint("192.0.2.1", 4386), true)
                   .add_address(attr::kMsXorMappedAddress, ip_endpoint("2001:db8::1", 4386), true)
                   .finish();
  EXPECT_EQ(built, kMsTurnXorMapped);
  // Wrong sizes for the family are rejected, never read past the value.
  for (std::size_t n = 0; n < m.attributes[2].value.size(); ++n) {
    EXPECT_FALSE(decode_address(m.attributes[2].value.first(n), &key).has_value()) << n;
  }
  // Framed as on the wire, at every truncation and split point.
  auto frame = ms_frame(2, kMsTurnXorMapped);
  RunResult whole = run_turn(Role::kServer, {Span(frame)});
  ASSERT_EQ(whole.events.size(), 1u) << whole;
  EXPECT_EQ(whole.events[0], "Allocate response attrs=3 15:4 32800:8 32800:20");
  expect_chunking_invariant(frame, [](auto chunks) { return run_turn(Role::kServer, chunks); });
}

TEST(TurnParser, StreamErrors) {
  // After the pseudo-TLS hello, a frame of type 0x05.
  std::array<std::uint8_t, 32> random{};
  auto hello = make_pseudo_tls_client(random);
  std::vector<std::uint8_t> bad(hello.begin(), hello.end());
  bad.insert(bad.end(), {0x05, 0x00, 0x00, 0x04, 0, 0, 0, 0});
  EXPECT_TRUE(run_turn(Role::kClient, {Span(bad)}).failed);
  // A first byte that is neither pseudo-TLS, MS-TURN framing, STUN nor ChannelData.
  std::vector<std::uint8_t> tls = {0x17, 0x03, 0x03, 0x00, 0x10};
  EXPECT_TRUE(run_turn(Role::kClient, {Span(tls)}).failed);
  // Once MS-TURN framing is established, a type other than 2/3 is a stream error.
  std::vector<std::uint8_t> framed = ms_frame(3, std::vector<std::uint8_t>(5, 1));
  framed.push_back(0x07);
  framed.insert(framed.end(), {0, 0, 0});
  RunResult result = run_turn(Role::kClient, {Span(framed)});
  ASSERT_TRUE(result.failed);
  EXPECT_NE(result.events.back().find("neither control (2) nor data (3)"), std::string::npos);
  // Control frame too short for a message; STUN length not a multiple of 4.
  EXPECT_TRUE(run_turn(Role::kClient, {Span(ms_frame(2, std::vector<std::uint8_t>(8, 0)))}).failed);
  std::vector<std::uint8_t> stun = {0x00, 0x01, 0x00, 0x05, 0x21, 0x12, 0xa4, 0x42};
  EXPECT_TRUE(run_turn(Role::kClient, {Span(stun)}).failed);
  // An attribute that overruns the message.
  std::vector<std::uint8_t> overrun = kLyncAllocate;
  overrun[31] = 0x09;
  Message message;
  std::string_view error;
  EXPECT_EQ(decode(overrun, Dialect::kMsTurn, message, error), DecodeStatus::kError);
  EXPECT_NE(std::string(error).find("overruns"), std::string::npos);
  // Missing MAGIC-COOKIE is decoded but flagged.
  std::vector<std::uint8_t> no_cookie = kLyncAllocate;
  no_cookie[21] = 0x10;
  ASSERT_EQ(decode(no_cookie, Dialect::kMsTurn, message, error), DecodeStatus::kOk);
  EXPECT_FALSE(message.ms_magic_cookie);
}

TEST(TurnParser, GarbageNeverCrashes) {
  std::mt19937 rng(11);
  std::vector<std::vector<std::uint8_t>> seeds = {
      ms_turn_flow().stream(inspect::Direction::kClientToServer),
      turn_flow().stream(inspect::Direction::kServerToClient)};
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::uint8_t> data = seeds[round % 2];
    for (int e = 0; e < 1 + static_cast<int>(rng() % 6); ++e)
      data[rng() % data.size()] = static_cast<std::uint8_t>(rng());
    std::size_t cut = rng() % (data.size() + 1);
    for (Role role : {Role::kClient, Role::kServer})
      run_turn(role, {Span(data).first(cut), Span(data).subspan(cut)});
    Message message;
    std::string_view error;
    for (Dialect d : {Dialect::kMsTurn, Dialect::kRfc5389, Dialect::kClassic}) {
      (void)decode(Span(data).first(std::min<std::size_t>(cut, 200)), d, message, error);
    }
  }
}

}  // namespace
}  // namespace wb::test
