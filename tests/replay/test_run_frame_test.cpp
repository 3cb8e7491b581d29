// The frame a kernel test run is given for a captured packet: small frames unchanged; GRO/TSO-
// merged frames cut below the test-run limit and snaplen-cut frames, both with IP and UDP lengths
// set to the bytes kept, so the classifier reads them as the bridge would (not as malformed).
#include <gtest/gtest.h>

#include "agent/replay/decode.h"
#include "agent/replay/test_run_frame.h"
#include "tests/peek/samples.h"
#include "tests/replay/pcap_writer.h"

namespace wb::test {
namespace {

constexpr int kLinkEthernet = 1, kLinkRaw = 12;  // DLT_ values, as libpcap reports them

std::size_t be16(const Bytes& b, std::size_t at) {
  return std::size_t{b[at]} << 8 | b[at + 1];
}

bool ipv4_checksum_ok(const Bytes& b, std::size_t at) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 20; i += 2) sum += static_cast<std::uint32_t>(be16(b, at + i));
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return sum == 0xffff;
}

replay::TestRunFrame fed(int link, const Bytes& frame, std::size_t max = replay::kTestRunMaxFrame) {
  return replay::test_run_frame(link, frame, replay::decode_frame(link, frame), max);
}

TEST(TestRunFrame, SmallFramesPassUnchanged) {
  const Bytes frame = ethernet(ip_tcp({.seq = 1, .payload = Bytes(1400, 'x')}), {100});
  const auto out = fed(kLinkEthernet, frame);
  EXPECT_FALSE(out.shortened);
  EXPECT_EQ(out.bytes, frame);
  // Not IP at all, and larger than the limit: cut, nothing else touched.
  Bytes arp(5000, 0);
  arp[12] = 0x08;
  arp[13] = 0x06;
  const auto cut = fed(kLinkEthernet, arp);
  EXPECT_TRUE(cut.shortened);
  EXPECT_EQ(cut.bytes, Bytes(arp.begin(), arp.begin() + replay::kTestRunMaxFrame));
}

TEST(TestRunFrame, MergedTcpSegmentIsCutWithItsIpLengthSet) {
  const Bytes hello = records(client_hello_message("merged.example"), {});
  const Bytes frame = ethernet(ip_tcp({.seq = 1, .payload = hello + Bytes(20'000, 'x')}), {7});
  const auto out = fed(kLinkEthernet, frame);
  ASSERT_TRUE(out.shortened);
  ASSERT_EQ(out.bytes.size(), replay::kTestRunMaxFrame);
  const std::size_t l3 = 18;  // Ethernet + one 802.1Q tag
  EXPECT_EQ(be16(out.bytes, l3 + 2), replay::kTestRunMaxFrame - l3);
  EXPECT_TRUE(ipv4_checksum_ok(out.bytes, l3));
  const auto again = replay::decode_frame(kLinkEthernet, out.bytes);
  ASSERT_EQ(again.status, replay::DecodeStatus::kOk) << again.error;
  EXPECT_EQ(again.dst.port, 443);
  EXPECT_EQ(again.payload.size(), again.wire_payload_len);  // consistent: nothing claimed beyond
  EXPECT_TRUE(std::equal(hello.begin(), hello.end(), again.payload.begin()));
}

TEST(TestRunFrame, Ipv6AndUdpLengthsFollowTheCut) {
  // A raw-IP capture (no Ethernet header: one is put in front), IPv6, a 9,000-byte datagram.
  const Bytes ip = ip_udp("2001:db8::1", "2001:db8::2", 5000, 443, Bytes(9000, 0xc3));
  const auto out = fed(kLinkRaw, ip);
  ASSERT_TRUE(out.shortened);
  ASSERT_EQ(out.bytes.size(), replay::kTestRunMaxFrame);
  EXPECT_EQ(be16(out.bytes, 14 + 4), replay::kTestRunMaxFrame - 14 - 40);       // payload length
  EXPECT_EQ(be16(out.bytes, 14 + 40 + 4), replay::kTestRunMaxFrame - 14 - 40);  // UDP length
  const auto again = replay::decode_frame(kLinkEthernet, out.bytes);
  ASSERT_EQ(again.status, replay::DecodeStatus::kOk) << again.error;
  EXPECT_EQ(again.payload.size(), again.wire_payload_len);
  EXPECT_EQ(again.payload[0], 0xc3);
}

TEST(TestRunFrame, SnaplenCutFrameGetsTheLengthsOfWhatWasCaptured) {
  Bytes frame = ethernet(ip_udp("192.0.2.1", "192.0.2.2", 5000, 3478, Bytes(600, 1)));
  frame.resize(200);  // captured with a 200-byte snapshot length
  const auto out = fed(kLinkEthernet, frame);
  ASSERT_TRUE(out.shortened);
  EXPECT_EQ(out.bytes.size(), 200u);
  EXPECT_EQ(be16(out.bytes, 14 + 2), 200u - 14);
  EXPECT_EQ(be16(out.bytes, 14 + 20 + 4), 200u - 14 - 20);
  EXPECT_TRUE(ipv4_checksum_ok(out.bytes, 14));
  EXPECT_EQ(replay::decode_frame(kLinkEthernet, out.bytes).status, replay::DecodeStatus::kOk);
}

// Every limit from an Ethernet header up to the whole frame: never a read past the frame, and
// once the limit keeps the transport header the result decodes as the same packet.
TEST(TestRunFrame, EveryLimitGivesAConsistentFrame) {
  for (const Bytes& frame :
       {ethernet(ip_tcp({.seq = 1, .payload = Bytes(300, 'y')})),
        ethernet(ip_udp("2001:db8::1", "2001:db8::2", 1, 2, Bytes(300, 'z')), {5, 6})}) {
    const auto whole = replay::decode_frame(kLinkEthernet, frame);
    ASSERT_EQ(whole.status, replay::DecodeStatus::kOk);
    const std::size_t headers = frame.size() - whole.payload.size();
    for (std::size_t max = 14; max <= frame.size(); ++max) {
      const auto out = fed(kLinkEthernet, frame, max);
      ASSERT_EQ(out.bytes.size(), max);
      EXPECT_EQ(out.shortened, max < frame.size()) << max;
      if (max < headers) continue;
      const auto again = replay::decode_frame(kLinkEthernet, out.bytes);
      ASSERT_EQ(again.status, replay::DecodeStatus::kOk) << max << ": " << again.error;
      EXPECT_EQ(again.src, whole.src);
      EXPECT_EQ(again.dst, whole.dst);
      EXPECT_EQ(again.payload.size(), max - headers);
      EXPECT_EQ(again.wire_payload_len, max - headers);
    }
  }
}

}  // namespace
}  // namespace wb::test
