// SIP stream framing and message parsing: real captures (suricata-verify SIP over TCP, the
// 64 KiB INVITE body, nDPI SIP over UDP), crafted Lync flows, every truncation and split point,
// limits, and garbage.
#include <gtest/gtest.h>

#include <random>

#include "inspectors/sip/sip_stream.h"
#include "tests/inspectors/capture_streams.h"
#include "tests/inspectors/samples.h"
#include "tests/inspectors/split_check.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

using sip::Step;
using sip::StreamParser;
using Span = std::span<const std::uint8_t>;

std::string describe(const sip::Message& m) {
  std::string text = m.is_request ? std::string(m.method) + " " + std::string(m.uri)
                                  : std::to_string(m.status) + " " + std::string(m.reason);
  text += " headers=" + std::to_string(m.header_count);
  text += " call-id=" + std::string(m.header("Call-ID").value_or("-"));
  text += " cseq=" + std::string(m.header("CSeq").value_or("-"));
  text += " body=" + std::to_string(m.body.size());
  return text;
}

RunResult run_sip(const std::vector<Span>& chunks, sip::Limits limits = {}) {
  StreamParser parser(limits);
  RunResult result;
  for (Span chunk : chunks) {
    while (!chunk.empty()) {
      Step step = parser.feed(chunk);
      EXPECT_LE(step.consumed, chunk.size());
      chunk = chunk.subspan(step.consumed);
      if (step.kind == Step::Kind::kMessage) result.events.push_back(describe(parser.message()));
      if (step.kind == Step::Kind::kError) {
        result.failed = true;
        result.events.push_back(std::string("error: ") + std::string(parser.error()));
        return result;
      }
      if (step.kind == Step::Kind::kNeedMore) {
        EXPECT_TRUE(chunk.empty());
        break;
      }
    }
  }
  return result;
}

TcpConnection first_tcp(const std::string& capture) {
  CaptureStreams streams = read_streams(testdata_path(capture));
  EXPECT_EQ(streams.error, "");
  EXPECT_FALSE(streams.tcp.empty());
  return streams.tcp.empty() ? TcpConnection{} : streams.tcp.front();
}

TEST(SipParser, SuricataRegister401OverTcp) {
  TcpConnection conn = first_tcp("suricata-verify/sip-tcp-pattern-matching_sip.pcap");
  ASSERT_EQ(conn.server, "2.2.2.2:5062");
  RunResult up = run_sip({Span(conn.to_server)});
  ASSERT_FALSE(up.failed) << up;
  ASSERT_EQ(up.events.size(), 1u);
  EXPECT_EQ(
      up.events[0],
      "REGISTER sip:sip.cybercity.dk headers=10 call-id=578222729-4665d775@578222732-4665d772 "
      "cseq=68 REGISTER body=0");
  RunResult down = run_sip({Span(conn.to_client)});
  ASSERT_FALSE(down.failed) << down;
  ASSERT_EQ(down.events.size(), 1u);
  EXPECT_EQ(down.events[0].substr(0, 17), "401 Unauthorized ");
  expect_chunking_invariant(conn.to_server, [](auto chunks) { return run_sip(chunks); });
  expect_chunking_invariant(conn.to_client, [](auto chunks) { return run_sip(chunks); });
}

TEST(SipParser, SuricataInviteWith64KiBBody) {
  TcpConnection conn = first_tcp("suricata-verify/sip-body-large_sip-body-large.pcap");
  ASSERT_GT(conn.to_server.size(), 65536u);
  RunResult up = run_sip({Span(conn.to_server)});
  ASSERT_FALSE(up.failed) << up;
  ASSERT_EQ(up.events.size(), 1u) << up;
  EXPECT_NE(up.events[0].find("INVITE sip:bob@target.com"), std::string::npos);
  EXPECT_NE(up.events[0].find("body=65536"), std::string::npos) << up;
  RunResult down = run_sip({Span(conn.to_client)});
  ASSERT_EQ(down.events.size(), 1u) << down;
  EXPECT_EQ(down.events[0].substr(0, 11), "100 Trying ");
  // 64 KiB: every split inside the head and near the end, and every 257th elsewhere.
  expect_chunking_invariant(
      conn.to_server, [](auto chunks) { return run_sip(chunks); }, 257);
  // The body limit is enforced with a clear error.
  sip::Limits small;
  small.max_body_bytes = 4096;
  RunResult limited = run_sip({Span(conn.to_server)}, small);
  ASSERT_TRUE(limited.failed);
  EXPECT_NE(limited.events.back().find("body size limit"), std::string::npos);
}

TEST(SipParser, NdpiUdpDatagramsAreSingleMessages) {
  CaptureStreams streams = read_streams(testdata_path("ndpi/sip.pcap"));
  ASSERT_EQ(streams.error, "");
  std::size_t sip_datagrams = 0, requests = 0, responses = 0;
  for (const auto& datagram : streams.udp) {
    if (datagram.bytes.size() < 8) continue;
    std::string text(datagram.bytes.begin(), datagram.bytes.end());
    bool looks_sip = text.find("SIP/2.0") != std::string::npos;
    if (!looks_sip) continue;
    ++sip_datagrams;
    sip::Message message;
    std::string_view error;
    Step step = sip::parse_datagram(std::span<char>(text.data(), text.size()), message, error);
    ASSERT_EQ(step.kind, Step::Kind::kMessage) << error << "\n" << text;
    EXPECT_EQ(step.consumed, text.size()) << "one message per datagram";
    (message.is_request ? requests : responses)++;
    EXPECT_TRUE(message.header("Call-ID").has_value());
    EXPECT_TRUE(message.header("CSeq").has_value());
  }
  EXPECT_GE(sip_datagrams, 10u);
  EXPECT_GT(requests, 0u);
  EXPECT_GT(responses, 0u);
}

TEST(SipParser, CraftedFlowsSurviveEveryChunking) {
  for (const Flow& flow : all_flows()) {
    if (flow.protocol != "sip" && flow.protocol != "sips") continue;
    if (flow.name == "sip-negotiate")
      continue;  // compressed bytes follow: covered by the inspector
    for (auto direction :
         {inspect::Direction::kClientToServer, inspect::Direction::kServerToClient}) {
      std::vector<std::uint8_t> data = flow.stream(direction);
      RunResult whole = run_sip({Span(data)});
      ASSERT_FALSE(whole.failed) << flow.name << ": " << whole;
      ASSERT_FALSE(whole.events.empty()) << flow.name;
      SCOPED_TRACE(flow.name);
      expect_chunking_invariant(data, [](auto chunks) { return run_sip(chunks); });
    }
  }
}

TEST(SipParser, CompactFormsFoldingAndCaseInsensitiveNames) {
  std::string text = sip_message(
      "INVITE sip:bob@example.com SIP/2.0",
      {"v: SIP/2.0/TCP h;branch=z9hG4bK1", "f: <sip:a@x>;tag=1", "t: <sip:bob@example.com>",
       "i: abc@h", "cSeQ: 7 INVITE", "m: <sip:a@h>", "c: application/sdp", "k: 100rel",
       "Subject: first", " second\tpart", "x-custom:v"},
      "v=0\r\n", true);
  std::vector<std::uint8_t> data = bytes_of(text);
  StreamParser parser;
  Step step = parser.feed(data);
  ASSERT_EQ(step.kind, Step::Kind::kMessage) << parser.error();
  const sip::Message& m = parser.message();
  EXPECT_EQ(m.header("Call-ID").value_or(""), "abc@h");
  EXPECT_EQ(m.header("Via").value_or(""), "SIP/2.0/TCP h;branch=z9hG4bK1");
  EXPECT_EQ(m.header("from").value_or(""), "<sip:a@x>;tag=1");
  EXPECT_EQ(m.header("TO").value_or(""), "<sip:bob@example.com>");
  EXPECT_EQ(m.header("Contact").value_or(""), "<sip:a@h>");
  EXPECT_EQ(m.header("Content-Type").value_or(""), "application/sdp");
  EXPECT_EQ(m.header("Supported").value_or(""), "100rel");
  EXPECT_EQ(m.header("CSeq").value_or(""), "7 INVITE");
  EXPECT_EQ(m.header("Subject").value_or(""), "first   second\tpart");
  EXPECT_EQ(m.header("X-Custom").value_or(""), "v");
  EXPECT_EQ(m.body, "v=0\r\n");
  EXPECT_EQ(sip::user_host_of(sip::uri_of(*m.header("To"))), "bob@example.com");
  EXPECT_EQ(sip::param_of(*m.header("From"), "tag"), "1");
}

TEST(SipParser, KeepalivesBetweenAndSeveralMessagesInOneRead) {
  std::string one = sip_message("OPTIONS sip:x SIP/2.0", {"Call-ID: 1", "CSeq: 1 OPTIONS"});
  std::vector<std::uint8_t> data = bytes_of("\r\n\r\n" + one + "\r\n" + one + one + "\r\n\r\n");
  RunResult result = run_sip({Span(data)});
  EXPECT_FALSE(result.failed);
  EXPECT_EQ(result.events.size(), 3u);
  expect_chunking_invariant(data, [](auto chunks) { return run_sip(chunks); });
}

TEST(SipParser, ErrorsAreClear) {
  struct Case {
    std::string input;
    std::string error;
  };
  std::string many;
  for (int i = 0; i < 200; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  const Case cases[] = {
      {"INVITE sip:x SIP/2.0\r\nCall-ID: 1\r\n\r\n", "no Content-Length"},
      {"INVITE sip:x SIP/3.0\r\nContent-Length: 0\r\n\r\n", "version is not SIP/2.0"},
      {"SIP/2.0 99 Odd\r\nContent-Length: 0\r\n\r\n", "status code"},
      {"INVITE sip:x SIP/2.0\r\nno colon here\r\nContent-Length: 0\r\n\r\n", "no colon"},
      {"INVITE sip:x SIP/2.0\r\nContent-Length: 12x\r\n\r\n", "Content-Length invalid"},
      {"INVITE sip:x SIP/2.0\r\n" + many + "Content-Length: 0\r\n\r\n", "too many SIP headers"},
      {"\r\rINVITE", "CR without LF"},
      {"GARBAGE\r\n\r\n", "no SP"},
  };
  for (const auto& c : cases) {
    RunResult result = run_sip({Span(bytes_of(c.input))});
    ASSERT_TRUE(result.failed) << c.input;
    EXPECT_NE(result.events.back().find(c.error), std::string::npos) << result;
  }
  sip::Limits limits;
  limits.max_head_bytes = 1024;
  RunResult big =
      run_sip({Span(bytes_of("INVITE sip:x SIP/2.0\r\nX: " + std::string(2000, 'a')))}, limits);
  ASSERT_TRUE(big.failed);
  EXPECT_NE(big.events.back().find("header size limit"), std::string::npos);
}

TEST(SipParser, GarbageNeverCrashes) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> seed = bytes_of(
      sip_message("INVITE sip:b@x SIP/2.0", {"i: 1", "CSeq: 1 INVITE", "c: application/sdp"},
                  "v=0\r\nm=audio 1 RTP/AVP 0\r\n", true));
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::uint8_t> data = seed;
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits; ++e) data[rng() % data.size()] = static_cast<std::uint8_t>(rng());
    std::size_t cut = rng() % (data.size() + 1);
    RunResult result = run_sip({Span(data).first(cut), Span(data).subspan(cut)});
    EXPECT_LE(result.events.size(), 1u);
  }
}

}  // namespace
}  // namespace wb::test
