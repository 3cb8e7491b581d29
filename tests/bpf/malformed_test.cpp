// Truncated and corrupted frames at every layer: the classifier must pass them to the bridge
// (BYPASS, TC_ACT_OK) with reason "malformed", never read past the frame, never steer or drop.
#include "tests/bpf/classifier_fixture.h"

namespace wb::test {
namespace {

std::vector<std::pair<const char*, FrameSpec>> specs() {
  FrameSpec v4_syn = tcp_syn();
  v4_syn.ipv4_option_words = 2;
  FrameSpec v6_syn = tcp_syn(6);
  v6_syn.ipv6_ext = {0, 43, 44};
  FrameSpec qinq_stun = udp(stun_binding_request(), 3478);
  qinq_stun.vlan_tpids = {0x88a8, 0x8100};
  FrameSpec v4_quic = udp(quic_initial(1), 443);
  FrameSpec v6_quic = udp(quic_initial(0x6b3343cf), 443, 6);
  FrameSpec vlan_v6_syn = tcp_syn(6);  // tags let the IP header itself be cut (see below)
  vlan_v6_syn.vlan_tpids = {0x8100};
  vlan_v6_syn.ipv6_ext = {60};
  FrameSpec v6_classic =
      udp(from_hex("0001 0008 a1a2a3a4 b1b2b3b4 c1c2c3c4 d1d2d3d4 0003 0004 00000000"), 3478, 6);
  return {{"v4 syn+options", v4_syn},
          {"v6 syn+ext", v6_syn},
          {"qinq stun", qinq_stun},
          {"v4 quic", v4_quic},
          {"v6 quic", v6_quic},
          {"v6 classic stun", v6_classic},
          {"vlan v6 syn+ext", vlan_v6_syn}};
}

TEST_F(ClassifierTest, EveryTruncationIsMalformedAndPassed) {
  configure([](wb_config& c) {
    c.block_quic = 1;
    c.flags = WB_CONFIG_DRY_RUN;
  });
  for (auto& [name, spec] : specs()) {
    FrameLayout at;
    Bytes full = build_frame(spec, &at);
    std::size_t ip_header = at.l3 + (spec.ip_version == 6 ? 40 : 20);
    // Complete frame first: it parses.
    EXPECT_NE(run(full).reason, WB_REASON_MALFORMED) << name;
    // BPF_PROG_TEST_RUN refuses frames of 14 bytes or less (ShortFramesAreRefusedNotMisread).
    for (std::size_t n = 15; n < full.size(); ++n) {
      Bytes cut(full.begin(), full.begin() + static_cast<long>(n));
      auto r = dp_->classify(cut);
      if (!r.ok()) {
        // The kernel's test run itself refuses an untagged IP frame whose IP header is
        // incomplete; the tagged specs above cover those cuts.
        ASSERT_TRUE(spec.vlan_tpids.empty() && n < ip_header) << name << " cut at " << n;
        continue;
      }
      datapath::Decision d = *r;
      ASSERT_EQ(d.verdict, WB_VERDICT_BYPASS) << name << " cut at " << n;
      ASSERT_EQ(d.tc_action, TC_ACT_OK) << name << " cut at " << n;
      // Cut inside the VLAN tags the ethertype is a tag/partial: malformed as well.
      ASSERT_EQ(d.reason, WB_REASON_MALFORMED) << name << " cut at " << n;
    }
  }
  EXPECT_TRUE(dp_->flows()->size() <= specs().size()) << "truncated frames record no flows";
}

// One field at a time set to an impossible value.
TEST_F(ClassifierTest, ImpossibleHeaderFieldsAreMalformed) {
  FrameLayout at;
  Bytes syn = build_frame(tcp_syn(), &at);
  auto with = [&](std::size_t offset, std::uint8_t value) {
    Bytes f = syn;
    f[offset] = value;
    return run(f).reason;
  };
  EXPECT_EQ(with(at.l3, 0x44), WB_REASON_MALFORMED);       // IHL 4 < 5
  EXPECT_EQ(with(at.l3, 0x55), WB_REASON_MALFORMED);       // version 5
  EXPECT_EQ(with(at.l3, 0x4f), WB_REASON_MALFORMED);       // IHL 15: options beyond the frame
  EXPECT_EQ(with(at.l3 + 2, 0xff), WB_REASON_MALFORMED);   // total length beyond the frame
  EXPECT_EQ(with(at.l3 + 3, 10), WB_REASON_MALFORMED);     // total length below the header
  EXPECT_EQ(with(at.l4 + 12, 0x40), WB_REASON_MALFORMED);  // TCP data offset 4
  EXPECT_EQ(with(at.l4 + 12, 0xf0), WB_REASON_MALFORMED);  // TCP data offset past the datagram
  Bytes u = build_frame(udp(stun_binding_request(), 3478), &at);
  auto udp_len = [&](std::uint16_t len) {
    Bytes f = u;
    f[at.l4 + 4] = static_cast<std::uint8_t>(len >> 8);
    f[at.l4 + 5] = static_cast<std::uint8_t>(len);
    return run(f).reason;
  };
  EXPECT_EQ(udp_len(7), WB_REASON_MALFORMED);
  EXPECT_EQ(udp_len(static_cast<std::uint16_t>(u.size())), WB_REASON_MALFORMED);
  EXPECT_EQ(udp_len(8), WB_REASON_UDP);  // empty datagram: valid, class unknown
  Bytes v6 = build_frame(tcp_syn(6), &at);
  v6[at.l3] = 0x40;  // version 4 in an IPv6 ethertype
  EXPECT_EQ(run(v6).reason, WB_REASON_MALFORMED);
  v6 = build_frame(tcp_syn(6), &at);
  v6[at.l3 + 4] = 0x7f;  // payload length beyond the frame
  EXPECT_EQ(run(v6).reason, WB_REASON_MALFORMED);
  FrameSpec ext = tcp_syn(6);
  ext.ipv6_ext = {60};
  Bytes e = build_frame(ext, &at);
  e[at.l3 + 40 + 1] = 200;  // extension header length beyond the payload
  EXPECT_EQ(run(e).reason, WB_REASON_MALFORMED);
}

// Every header byte of a SYN and of a QUIC Initial overwritten with 0x00 and 0xff: whatever
// the classifier makes of it, it never steers (no listener), only drops a QUIC Initial to the
// QUIC port, and never fails to decide.
TEST_F(ClassifierTest, CorruptedHeaderBytesNeverSteerOrMisdrop) {
  configure([](wb_config& c) { c.block_quic = 1; });
  for (const FrameSpec& spec :
       {tcp_syn(), tcp_syn(6), udp(quic_initial(1), 443), udp(stun_binding_request(), 443, 6)}) {
    FrameLayout at;
    Bytes base = build_frame(spec, &at);
    for (std::size_t i = 0; i < at.payload + 8 && i < base.size(); ++i) {
      for (std::uint8_t v : {0x00, 0xff}) {
        Bytes f = base;
        f[i] = v;
        auto d = run(f);
        ASSERT_NE(d.verdict, WB_VERDICT_STEER) << "byte " << i;
        if (d.verdict == WB_VERDICT_DROP) {
          ASSERT_EQ(d.flow_class == WB_CLASS_QUIC || d.flow_class == WB_CLASS_GQUIC, true) << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace wb::test
