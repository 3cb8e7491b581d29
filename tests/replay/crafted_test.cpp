// wb_replay on captures crafted in the test: TCP reassembly (out of order, retransmitted,
// overlapping, sequence wrap, mid-stream start, snaplen cuts), link types, VLAN tags, and broken
// files (empty, junk, truncated, unknown link type) that must give errors or warnings.
#include <gtest/gtest.h>

#include "agent/peek/peek.h"
#include "agent/replay/flows.h"
#include "tests/peek/samples.h"
#include "tests/replay/pcap_writer.h"

namespace wb::test {
namespace {

constexpr std::uint32_t kLinkEthernet = 1, kLinkRaw = 101, kLinkSll2 = 276, kLink80211 = 105;
constexpr std::uint8_t kSyn = 0x02, kAck = 0x10, kPshAck = 0x18;

replay::FlowTable flows(const Bytes& file) {
  auto cap = replay::read_capture(file);
  EXPECT_TRUE(cap.ok()) << cap.error().message();
  if (!cap.ok()) return {};
  return replay::build_flows(*cap);
}

// A client->server stream "0123456789abcdefghij" sent as segments [from, to) in `order`.
Bytes stream_capture(std::uint32_t isn, const std::vector<std::pair<int, int>>& order,
                     bool with_syn = true) {
  const std::string data = "0123456789abcdefghij";
  std::vector<PcapRecord> recs;
  if (with_syn) {
    recs.push_back({ethernet(ip_tcp({.seq = isn, .flags = kSyn}))});
    recs.push_back({ethernet(ip_tcp({.src = "192.0.2.2",
                                     .dst = "192.0.2.1",
                                     .sport = 443,
                                     .dport = 40000,
                                     .seq = 777,
                                     .flags = kSyn | kAck}))});
  }
  for (auto [from, to] : order) {
    recs.push_back({ethernet(ip_tcp({.seq = isn + 1 + static_cast<std::uint32_t>(from),
                                     .payload = text(data.substr(from, to - from))}))});
  }
  return pcap_file(kLinkEthernet, recs);
}

std::string contiguous(const replay::Flow& f) {
  auto b = f.to_server.contiguous();
  return std::string(b.begin(), b.end());
}

TEST(Reassembly, InOrderOutOfOrderRetransmittedOverlapping) {
  auto t = flows(stream_capture(1000, {{0, 5}, {5, 10}, {10, 20}}));
  ASSERT_EQ(t.flows.size(), 1u);
  EXPECT_EQ(contiguous(t.flows[0]), "0123456789abcdefghij");
  EXPECT_EQ(t.flows[0].client_by, "syn");

  t = flows(stream_capture(1000, {{10, 20}, {5, 10}, {0, 5}}));
  EXPECT_EQ(contiguous(t.flows[0]), "0123456789abcdefghij");
  EXPECT_EQ(t.flows[0].to_server.out_of_order(), 2u);

  t = flows(stream_capture(1000, {{0, 5}, {0, 5}, {5, 20}, {5, 20}}));
  EXPECT_EQ(contiguous(t.flows[0]), "0123456789abcdefghij");
  EXPECT_EQ(t.flows[0].to_server.retransmissions(), 2u);

  t = flows(stream_capture(1000, {{0, 8}, {4, 12}, {10, 20}}));
  EXPECT_EQ(contiguous(t.flows[0]), "0123456789abcdefghij");

  // A hole: the bytes after it are not part of the first bytes.
  t = flows(stream_capture(1000, {{0, 5}, {10, 20}}));
  EXPECT_EQ(contiguous(t.flows[0]), "01234");
  EXPECT_TRUE(t.flows[0].to_server.has_gap());
}

TEST(Reassembly, SequenceNumbersWrapAroundTwoToThe32) {
  // ISN 0xfffffff8: the stream crosses 2^32 after 7 bytes.
  auto t = flows(stream_capture(0xfffffff8u, {{0, 4}, {12, 20}, {4, 12}}));
  ASSERT_EQ(t.flows.size(), 1u);
  EXPECT_EQ(contiguous(t.flows[0]), "0123456789abcdefghij");
}

TEST(Reassembly, MidStreamCaptureStartsAtTheFirstDataSeen) {
  auto t = flows(stream_capture(5000, {{0, 10}, {10, 20}}, false));
  ASSERT_EQ(t.flows.size(), 1u);
  EXPECT_EQ(contiguous(t.flows[0]), "0123456789abcdefghij");
  EXPECT_TRUE(t.flows[0].to_server.midstream());
  EXPECT_EQ(t.flows[0].client_by, "port");  // 443 is the server's
}

TEST(Reassembly, SynAckFirstStillFindsTheClient) {
  std::vector<PcapRecord> recs = {{ethernet(ip_tcp({.src = "192.0.2.2",
                                                    .dst = "192.0.2.1",
                                                    .sport = 443,
                                                    .dport = 40000,
                                                    .seq = 1,
                                                    .flags = kSyn | kAck}))}};
  auto t = flows(pcap_file(kLinkEthernet, recs));
  ASSERT_EQ(t.flows.size(), 1u);
  EXPECT_EQ(t.flows[0].client.port, 40000);
  EXPECT_EQ(t.flows[0].client_by, "syn-ack");
}

TEST(Reassembly, SnaplenCutFramesLeaveAHoleAndAWarning) {
  const Bytes hello = records(client_hello_message("cut.example"), {});
  Bytes frame = ethernet(ip_tcp({.seq = 1, .payload = hello}));
  const auto orig = static_cast<std::uint32_t>(frame.size());
  frame.resize(frame.size() - 40);  // the last 40 bytes were not captured
  std::vector<PcapRecord> recs = {{ethernet(ip_tcp({.seq = 0, .flags = kSyn}))}, {frame, orig}};
  auto cap = replay::read_capture(pcap_file(kLinkEthernet, recs, 256));
  ASSERT_TRUE(cap.ok());
  ASSERT_EQ(cap->warnings.size(), 1u);
  EXPECT_NE(cap->warnings[0].find("snapshot length"), std::string::npos) << cap->warnings[0];
  auto t = replay::build_flows(*cap);
  ASSERT_EQ(t.flows.size(), 1u);
  const auto& dir = t.flows[0].to_server;
  EXPECT_EQ(dir.contiguous().size(), hello.size() - 40);
  EXPECT_EQ(dir.cut_bytes(), 40u);
  EXPECT_TRUE(dir.has_gap());
  // The classifier sees an unfinished hello: need more, never a wrong answer.
  EXPECT_TRUE(peek::classify_client(dir.contiguous()).need_more());
}

TEST(Reassembly, OnlyTheFirst64KiBAreKept) {
  std::vector<PcapRecord> recs = {{ethernet(ip_tcp({.seq = 0, .flags = kSyn}))}};
  for (std::uint32_t off = 0; off < 100'000; off += 1400) {
    recs.push_back({ethernet(ip_tcp({.seq = 1 + off, .payload = Bytes(1400, 'x')}))});
  }
  auto t = flows(pcap_file(kLinkEthernet, recs));
  ASSERT_EQ(t.flows.size(), 1u);
  EXPECT_EQ(t.flows[0].to_server.contiguous().size(), peek::kMaxPeekBytes);
  EXPECT_TRUE(t.flows[0].to_server.capped());
  EXPECT_EQ(t.flows[0].bytes_to_server, 72u * 1400);
}

TEST(LinkTypes, RawIpSll2VlanIpv6AndUdp) {
  const Bytes syn = ip_tcp({.src = "2001:db8::1", .dst = "2001:db8::2", .flags = kSyn});
  const Bytes data = ip_tcp({.src = "2001:db8::1",
                             .dst = "2001:db8::2",
                             .seq = 1,
                             .flags = kPshAck,
                             .payload = text("GET / HTTP/1.1\r\n")});
  auto raw = flows(pcap_file(kLinkRaw, {{syn}, {data}}));
  ASSERT_EQ(raw.flows.size(), 1u);
  EXPECT_EQ(raw.flows[0].str(), "tcp [2001:db8::1]:40000 -> [2001:db8::2]:443");
  EXPECT_EQ(peek::classify_client(raw.flows[0].to_server.contiguous()).kind, peek::Kind::kHttp1);

  // SLL2: protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1) addrlen(1) addr(8).
  auto sll2 = [](const Bytes& ip) {
    Bytes b = {0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
    b.insert(b.end(), ip.begin(), ip.end());
    return b;
  };
  auto s = flows(pcap_file(kLinkSll2, {{sll2(syn)}, {sll2(data)}}));
  ASSERT_EQ(s.flows.size(), 1u);
  EXPECT_EQ(peek::classify_client(s.flows[0].to_server.contiguous()).kind, peek::Kind::kHttp1);

  // Two VLANs with the same 5-tuple are two flows.
  const Bytes udp =
      ip_udp("192.0.2.1", "192.0.2.2", 5060, 5060, text("OPTIONS sip:a@b SIP/2.0\r\n\r\n"));
  auto v = flows(pcap_file(
      kLinkEthernet, {{ethernet(udp, {100})}, {ethernet(udp, {200, 7})}, {ethernet(udp, {100})}}));
  ASSERT_EQ(v.flows.size(), 2u);
  EXPECT_EQ(v.flows[0].vlan, 100);
  EXPECT_EQ(v.flows[1].vlan, 200);
  EXPECT_EQ(v.flows[0].datagrams.size(), 2u);
  EXPECT_EQ(peek::classify_client(v.flows[0].datagrams[0].bytes).kind, peek::Kind::kSip);
}

TEST(LinkTypes, AsEthernetKeepsTheIpPacket) {
  const Bytes ip = ip_udp("192.0.2.1", "192.0.2.2", 1, 2, text("x"));
  const auto p = replay::decode_frame(12, ip);
  ASSERT_EQ(p.status, replay::DecodeStatus::kOk);
  const Bytes eth = replay::as_ethernet(12, ip, p);
  ASSERT_EQ(eth.size(), 14 + ip.size());
  EXPECT_EQ(eth[12], 0x08);
  EXPECT_EQ(eth[13], 0x00);
  EXPECT_TRUE(std::equal(ip.begin(), ip.end(), eth.begin() + 14));
  const auto again = replay::decode_frame(1, eth);
  EXPECT_EQ(again.status, replay::DecodeStatus::kOk);
  EXPECT_EQ(again.src, p.src);
}

TEST(BadInput, UnknownLinkTypeIsAClearError) {
  auto cap = replay::read_capture(pcap_file(kLink80211, {{Bytes(40, 0)}}));
  ASSERT_FALSE(cap.ok());
  EXPECT_NE(cap.error().message().find("not supported"), std::string::npos)
      << cap.error().message();
}

TEST(BadInput, EmptyJunkAndMissingFilesAreErrors) {
  EXPECT_FALSE(replay::read_capture(Bytes{}).ok());
  EXPECT_FALSE(replay::read_capture(text("this is not a capture file at all")).ok());
  auto missing = replay::read_capture(std::string("/nonexistent/x.pcap"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent/x.pcap"), std::string::npos);
}

TEST(BadInput, TruncatedCaptureKeepsTheFramesBeforeTheDamage) {
  const Bytes full = stream_capture(1000, {{0, 10}, {10, 20}});
  // Cut in the middle of the last record: three whole frames, then damage.
  const Bytes cut(full.begin(), full.end() - 10);
  auto cap = replay::read_capture(cut);
  ASSERT_TRUE(cap.ok()) << cap.error().message();
  EXPECT_EQ(cap->frames.size(), 3u);
  ASSERT_EQ(cap->warnings.size(), 1u);
  EXPECT_NE(cap->warnings[0].find("damaged after frame 3"), std::string::npos) << cap->warnings[0];
  // Every cut point of a whole capture: an error, or frames plus at most a warning.
  for (std::size_t n = 0; n < full.size(); ++n) {
    auto c = replay::read_capture(std::span(full).first(n));
    if (c.ok()) (void)replay::build_flows(*c);
  }
}

TEST(BadInput, CorruptRecordLengthStopsWithAWarning) {
  Bytes file = stream_capture(1000, {{0, 10}, {10, 20}});
  // Third record's caplen (after 24-byte header and two records) set to 0x7fffffff.
  const std::size_t rec1 = 24, rec2 = rec1 + 16 + (file[rec1 + 8] | file[rec1 + 9] << 8);
  const std::size_t rec3 = rec2 + 16 + (file[rec2 + 8] | file[rec2 + 9] << 8);
  file[rec3 + 8] = 0xff;
  file[rec3 + 9] = 0xff;
  file[rec3 + 10] = 0xff;
  file[rec3 + 11] = 0x7f;
  auto cap = replay::read_capture(file);
  ASSERT_TRUE(cap.ok()) << cap.error().message();
  EXPECT_EQ(cap->frames.size(), 2u);
  EXPECT_EQ(cap->warnings.size(), 1u);
}

TEST(BadInput, MalformedFramesAreCountedNotFatal) {
  Bytes bad_ip = ip_tcp({.seq = 1, .payload = text("x")});
  bad_ip[0] = 0x42;  // IHL 2
  std::vector<PcapRecord> recs = {
      {ethernet(bad_ip)}, {Bytes{1, 2, 3}}, {ethernet(ip_tcp({.seq = 0, .flags = kSyn}))}};
  auto t = flows(pcap_file(kLinkEthernet, recs));
  EXPECT_EQ(t.malformed, 2u);
  EXPECT_EQ(t.flows.size(), 1u);
  EXPECT_EQ(t.warnings.size(), 2u);
}

}  // namespace
}  // namespace wb::test
