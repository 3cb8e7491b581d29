// UDP early bytes: each class recognised on structure, and QUIC blocking that drops QUIC
// Initials on the QUIC port only, never STUN/DTLS/TURN/RTP on the same port.
#include "tests/bpf/classifier_fixture.h"

namespace wb::test {
namespace {

Bytes classic_stun_binding() {  // RFC 3489: no cookie, CHANGE-REQUEST attribute
  return from_hex("0001 0008 a1a2a3a4 b1b2b3b4 c1c2c3c4 d1d2d3d4 0003 0004 00000000");
}
Bytes msturn_mux() {  // FF10, length of the data, 8-byte session id, the Lync Allocate
  return from_hex(
      "ff10 0020 0102030405060708"
      "0003000c2112a442f13c084b8018177247493065000f000472c64bc600060000");
}
Bytes turn_channel_data() {
  return from_hex("4001 0006 010203040506 0000");
}
Bytes dtls_client_hello() {
  return from_hex("16 feff 0000 000000000000 0010 0100000400000000000004fefd000000");
}
Bytes gquic_q050_initial() {
  Bytes b = quic_initial(0x51303530);  // "Q050" in the IETF-style long header
  return b;
}
Bytes rtp_pcmu() {
  Bytes b = from_hex("8000 0001 00000a00 12345678");
  b.resize(12 + 160, 0xff);
  return b;
}
Bytes plain_text() {
  std::string t = "hello, this is not any of the protocols we know";
  return Bytes(t.begin(), t.end());
}

struct Case {
  const char* name;
  Bytes payload;
  wb_flow_class expected;
  bool dropped_on_443;  // with block_quic
};

std::vector<Case> cases() {
  return {
      {"stun", stun_binding_request(), WB_CLASS_STUN, false},
      {"classic_stun", classic_stun_binding(), WB_CLASS_CLASSIC_STUN, false},
      {"msturn_mux", msturn_mux(), WB_CLASS_MSTURN_MUX, false},
      {"turn_channel", turn_channel_data(), WB_CLASS_TURN_CHANNEL, false},
      {"dtls", dtls_client_hello(), WB_CLASS_DTLS, false},
      {"quic_v1", quic_initial(1), WB_CLASS_QUIC, true},
      {"quic_v2", quic_initial(0x6b3343cf), WB_CLASS_QUIC, true},
      {"quic_draft29", quic_initial(0xff00001d), WB_CLASS_QUIC, true},
      {"quic_facebook", quic_initial(0xfaceb002), WB_CLASS_QUIC, true},
      {"gquic_q050", gquic_q050_initial(), WB_CLASS_GQUIC, true},
      {"gquic_q043", gquic_q043_chlo(), WB_CLASS_GQUIC, true},
      {"rtp", rtp_pcmu(), WB_CLASS_RTP, false},
      {"other", plain_text(), WB_CLASS_UNKNOWN, false},
  };
}

// Each case gets its own 5-tuple: a flow keeps the class of its first judged packet.
FrameSpec udp_case(const Case& c, std::uint16_t dport, int v) {
  static std::uint16_t next_port = 20000;
  FrameSpec s = udp(c.payload, dport, v);
  s.sport = next_port++;
  return s;
}

TEST_F(ClassifierTest, EachUdpClassIsRecognisedInBothFamilies) {
  for (const Case& c : cases()) {
    for (int v : {4, 6}) {
      auto d = run(udp_case(c, 3478, v));
      EXPECT_EQ(d.flow_class, c.expected) << c.name << " v" << v;
      EXPECT_EQ(d.reason, WB_REASON_UDP) << c.name;
      EXPECT_EQ(d.tc_action, TC_ACT_OK) << c.name;
    }
  }
}

TEST_F(ClassifierTest, QuicBlockingDropsOnlyQuicInitialsOnTheQuicPort) {
  configure([](wb_config& c) { c.block_quic = 1; });
  for (const Case& c : cases()) {
    for (int v : {4, 6}) {
      auto d = run(udp_case(c, 443, v));
      EXPECT_EQ(d.flow_class, c.expected) << c.name;
      if (c.dropped_on_443) {
        EXPECT_EQ(d.verdict, WB_VERDICT_DROP) << c.name << " v" << v;
        EXPECT_EQ(d.reason, WB_REASON_QUIC_BLOCKED) << c.name;
        EXPECT_EQ(d.tc_action, TC_ACT_SHOT) << c.name;
      } else {
        EXPECT_EQ(d.verdict, WB_VERDICT_BYPASS) << c.name << " v" << v;
        EXPECT_EQ(d.tc_action, TC_ACT_OK) << c.name;
      }
      // Other ports: never dropped.
      EXPECT_EQ(run(udp_case(c, 8443, v)).tc_action, TC_ACT_OK) << c.name;
    }
  }
  auto counters = dp_->counters();
  EXPECT_EQ(counters->by_reason[WB_REASON_QUIC_BLOCKED].packets, 12u);  // 6 QUIC cases x 2
}

TEST_F(ClassifierTest, QuicIsNotDroppedWhenBlockingIsOff) {
  auto d = run(udp(quic_initial(1), 443));
  EXPECT_EQ(d.verdict, WB_VERDICT_BYPASS);
  EXPECT_EQ(d.flow_class, WB_CLASS_QUIC);
  ASSERT_TRUE(dp_->set_block_quic(true).ok());
  EXPECT_EQ(run(udp(quic_initial(1), 443)).verdict, WB_VERDICT_DROP);
  ASSERT_TRUE(dp_->set_block_quic(false).ok());
  EXPECT_EQ(run(udp(quic_initial(1), 443)).verdict, WB_VERDICT_BYPASS);
}

TEST_F(ClassifierTest, QuicThatIsNotAClientInitialPasses) {
  configure([](wb_config& c) { c.block_quic = 1; });
  // Under the 1200-byte minimum of a client Initial (RFC 9000 14.1).
  auto small = run(udp(quic_initial(1, 600), 443));
  EXPECT_EQ(small.flow_class, WB_CLASS_QUIC);
  EXPECT_EQ(small.verdict, WB_VERDICT_BYPASS);
  // Handshake packet type (0x2) of v1.
  Bytes handshake = quic_initial(1);
  handshake[0] = 0xe3;
  EXPECT_EQ(run(udp(handshake, 443)).verdict, WB_VERDICT_BYPASS);
  // A v2 packet with v1's Initial type bits is v2's 0-RTT: not an Initial.
  Bytes v2_zero_rtt = quic_initial(0x6b3343cf);
  v2_zero_rtt[0] = 0xc3;
  EXPECT_EQ(run(udp(v2_zero_rtt, 443)).verdict, WB_VERDICT_BYPASS);
  // Short header (1-RTT).
  Bytes short_header(1200, 0x00);
  short_header[0] = 0x43;
  EXPECT_EQ(run(udp(short_header, 443)).verdict, WB_VERDICT_BYPASS);
  // An unknown version is not QUIC (a fresh flow: the earlier ones made this tuple QUIC).
  ASSERT_TRUE(dp_->clear_flows().ok());
  Bytes unknown = quic_initial(0x12345678);
  auto u = run(udp(unknown, 443));
  EXPECT_EQ(u.verdict, WB_VERDICT_BYPASS);
  EXPECT_NE(u.flow_class, WB_CLASS_QUIC);
  // A DCID longer than 20 bytes is not QUIC v1.
  Bytes long_dcid = quic_initial(1);
  long_dcid[5] = 21;
  EXPECT_EQ(run(udp(long_dcid, 443)).verdict, WB_VERDICT_BYPASS);
}

TEST_F(ClassifierTest, StunLookalikesAreNotStun) {
  auto fresh_class = [&](const Bytes& payload) {  // one flow per check
    EXPECT_TRUE(dp_->clear_flows().ok());
    return flow_class(udp(payload, 3478));
  };
  Bytes bad_len = stun_binding_request();
  bad_len[3] = 12;  // length no longer matches the datagram
  EXPECT_NE(fresh_class(bad_len), WB_CLASS_STUN);
  Bytes no_cookie_bad_walk = classic_stun_binding();
  no_cookie_bad_walk[23] = 8;  // attribute overruns the message
  EXPECT_EQ(fresh_class(no_cookie_bad_walk), WB_CLASS_UNKNOWN);
  Bytes bad_type = classic_stun_binding();
  bad_type[1] = 0x05;  // not in the RFC 3489 whitelist
  EXPECT_EQ(fresh_class(bad_type), WB_CLASS_UNKNOWN);
  Bytes dtls_bad_version = dtls_client_hello();
  dtls_bad_version[2] = 0x01;
  EXPECT_NE(fresh_class(dtls_bad_version), WB_CLASS_DTLS);
  Bytes mux_bad_len = msturn_mux();
  mux_bad_len[3] = 0x7f;
  EXPECT_NE(fresh_class(mux_bad_len), WB_CLASS_MSTURN_MUX);
}

TEST_F(ClassifierTest, AFlowKeepsItsFirstClass) {
  // A STUN exchange followed by RTP on the same 5-tuple stays STUN in the flow table.
  run(udp(stun_binding_request(), 3478));
  auto d = run(udp(rtp_pcmu(), 3478));
  EXPECT_EQ(d.flow_class, WB_CLASS_STUN);
  auto flows = dp_->flows();
  ASSERT_EQ(flows->size(), 1u);
  EXPECT_EQ(flows->front().value.flow_class, WB_CLASS_STUN);
  EXPECT_EQ(flows->front().value.packets, 2u);
}

}  // namespace
}  // namespace wb::test
