// The TC classifier itself (BPF_PROG_TEST_RUN on crafted frames): every verdict and reason,
// both IP families, VLAN/QinQ, IPv4 options and fragments, IPv6 extension headers, policy maps.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "agent/common/unique_fd.h"
#include "tests/bpf/classifier_fixture.h"

namespace wb::test {
namespace {

using datapath::Cidr;
using datapath::Side;

TEST_F(ClassifierTest, NonIpBypasses) {
  FrameSpec arp;
  arp.ip_version = 0;
  arp.ethertype = 0x0806;
  arp.payload = Bytes(28, 0x01);
  auto d = run(arp);
  EXPECT_EQ(d.verdict, WB_VERDICT_BYPASS);
  EXPECT_EQ(d.reason, WB_REASON_NON_IP);
  EXPECT_EQ(d.tc_action, TC_ACT_OK);
}

TEST_F(ClassifierTest, DefaultCandidatePortsAre443And5061) {
  auto ports = dp_->ports();
  ASSERT_TRUE(ports.ok());
  EXPECT_EQ(*ports, (std::vector<std::uint16_t>{443, 5061}));
  for (int v : {4, 6}) {
    EXPECT_EQ(reason(tcp_syn(v, 443)), WB_REASON_AGENT_DOWN) << "v" << v;
    EXPECT_EQ(reason(tcp_syn(v, 5061)), WB_REASON_AGENT_DOWN) << "v" << v;
    EXPECT_EQ(reason(tcp_syn(v, 5201)), WB_REASON_NOT_CANDIDATE) << "v" << v;
  }
}

TEST_F(ClassifierTest, CandidatePortsFollowTheMap) {
  ASSERT_TRUE(dp_->add_port(8443).ok());
  EXPECT_EQ(reason(tcp_syn(4, 8443)), WB_REASON_AGENT_DOWN);
  ASSERT_TRUE(dp_->del_port(443).ok());
  EXPECT_EQ(reason(tcp_syn(4, 443)), WB_REASON_NOT_CANDIDATE);
  EXPECT_EQ(reason(tcp_syn(6, 443)), WB_REASON_NOT_CANDIDATE);
  EXPECT_EQ(*dp_->ports(), (std::vector<std::uint16_t>{5061, 8443}));
  EXPECT_FALSE(dp_->add_port(0).ok());
}

TEST_F(ClassifierTest, SynToCandidateWithoutListenerFailsOpen) {
  for (int v : {4, 6}) {
    auto d = run(tcp_syn(v));
    EXPECT_EQ(d.verdict, WB_VERDICT_BYPASS);
    EXPECT_EQ(d.reason, WB_REASON_AGENT_DOWN);
    EXPECT_EQ(d.tc_action, TC_ACT_OK);
    EXPECT_EQ(d.flow_class, WB_CLASS_TCP);
  }
  EXPECT_FALSE(dp_->has_listener());
  EXPECT_EQ(dp_->counters()->by_reason[WB_REASON_AGENT_DOWN].packets, 2u);
}

TEST_F(ListenerTest, SynToCandidateSteersToTheListenerOfItsFamily) {
  configure([](wb_config& c) { c.flags = WB_CONFIG_DRY_RUN; });
  UniqueFd v4 = listen_on(AF_INET);
  ASSERT_TRUE(dp_->set_listener(v4.get()).ok());
  EXPECT_TRUE(dp_->has_listener());
  auto d = run(tcp_syn(4));
  EXPECT_EQ(d.verdict, WB_VERDICT_STEER);
  EXPECT_EQ(d.reason, WB_REASON_STEER_SYN);
  // No v6 listener: a v6 SYN fails open.
  EXPECT_EQ(reason(tcp_syn(6)), WB_REASON_AGENT_DOWN);
  UniqueFd v6 = listen_on(AF_INET6);
  ASSERT_TRUE(dp_->set_listener(v6.get()).ok());
  EXPECT_EQ(reason(tcp_syn(6)), WB_REASON_STEER_SYN);
  // Non-candidate ports and SYN-ACKs are never steered by the listener.
  EXPECT_EQ(reason(tcp_syn(4, 80)), WB_REASON_NOT_CANDIDATE);
  FrameSpec synack = tcp_syn();
  synack.tcp_flags = kTcpSyn | kTcpAck;
  EXPECT_EQ(reason(synack), WB_REASON_NOT_OWNED);
  // A closed listener leaves the SOCKMAP by itself: fail open again.
  v4.reset();
  v6.reset();
  EXPECT_FALSE(dp_->has_listener());
  EXPECT_EQ(reason(tcp_syn(4)), WB_REASON_AGENT_DOWN);
}

TEST_F(ListenerTest, ClearListenerFailsOpen) {
  configure([](wb_config& c) { c.flags = WB_CONFIG_DRY_RUN; });
  UniqueFd v4 = listen_on(AF_INET);
  ASSERT_TRUE(dp_->set_listener(v4.get()).ok());
  EXPECT_EQ(reason(tcp_syn(4)), WB_REASON_STEER_SYN);
  ASSERT_TRUE(dp_->clear_listener().ok());
  EXPECT_EQ(reason(tcp_syn(4)), WB_REASON_AGENT_DOWN);
}

TEST_F(ListenerTest, SetListenerRefusesANonListeningSocket) {
  UniqueFd udp_sock(socket(AF_INET, SOCK_DGRAM, 0));
  EXPECT_FALSE(dp_->set_listener(udp_sock.get()).ok());
  EXPECT_FALSE(dp_->set_listener(-1).ok());
}

TEST_F(ClassifierTest, MidFlowTcpIsNotOwnedWithoutAnAgentSocket) {
  for (int v : {4, 6}) {
    FrameSpec ack = tcp_syn(v);
    ack.tcp_flags = kTcpAck | kTcpPsh;
    EXPECT_EQ(reason(ack), WB_REASON_NOT_OWNED);
    ack.sport = 443;  // a server reply
    ack.dport = 40000;
    EXPECT_EQ(reason(ack), WB_REASON_NOT_OWNED);
    ack.sport = 5201;  // bulk traffic on other ports skips the socket lookup
    ack.dport = 40000;
    EXPECT_EQ(reason(ack), WB_REASON_NOT_CANDIDATE);
  }
}

TEST_F(ClassifierTest, InterceptionOffBypassesEverything) {
  configure([](wb_config& c) {
    c.intercept_enabled = 0;
    c.block_quic = 1;
  });
  for (int v : {4, 6}) {
    EXPECT_EQ(reason(tcp_syn(v)), WB_REASON_INTERCEPT_OFF);
    auto d = run(udp(quic_initial(1), 443, v));
    EXPECT_EQ(d.reason, WB_REASON_INTERCEPT_OFF);
    EXPECT_EQ(d.tc_action, TC_ACT_OK);
    EXPECT_EQ(d.flow_class, WB_CLASS_QUIC);
  }
  ASSERT_TRUE(dp_->set_intercept(true).ok());
  EXPECT_EQ(reason(tcp_syn()), WB_REASON_AGENT_DOWN);
}

TEST_F(ClassifierTest, ExcludedSourceAndDestinationCidrs) {
  auto add = [&](Side side, const char* text) {
    auto cidr = Cidr::parse(text);
    ASSERT_TRUE(cidr.ok()) << text;
    ASSERT_TRUE(dp_->add_bypass(side, *cidr).ok()) << text;
  };
  add(Side::source, "192.0.2.0/25");
  add(Side::destination, "198.51.100.7");
  add(Side::source, "2001:db8:1::/48");
  add(Side::destination, "2001:db8::2/128");
  FrameSpec s = tcp_syn();
  EXPECT_EQ(reason(s), WB_REASON_EXCLUDED_SRC);
  s.src = "192.0.2.200";  // outside /25
  EXPECT_EQ(reason(s), WB_REASON_AGENT_DOWN);
  s.dst = "198.51.100.7";
  EXPECT_EQ(reason(s), WB_REASON_EXCLUDED_DST);
  FrameSpec q = udp(quic_initial(1));
  q.dst = "198.51.100.7";
  configure([](wb_config& c) { c.block_quic = 1; });
  EXPECT_EQ(run(q).tc_action, TC_ACT_OK) << "excluded destinations are never dropped";
  FrameSpec s6 = tcp_syn(6);
  EXPECT_EQ(reason(s6), WB_REASON_EXCLUDED_DST);
  s6.dst = "2001:db8::3";
  EXPECT_EQ(reason(s6), WB_REASON_AGENT_DOWN);
  s6.src = "2001:db8:1:ff::9";
  EXPECT_EQ(reason(s6), WB_REASON_EXCLUDED_SRC);

  auto src = dp_->bypass(Side::source);
  ASSERT_TRUE(src.ok());
  ASSERT_EQ(src->size(), 2u);
  EXPECT_EQ((*src)[0].str(), "192.0.2.0/25");
  EXPECT_EQ((*src)[1].str(), "2001:db8:1::/48");
  ASSERT_TRUE(dp_->del_bypass(Side::source, *Cidr::parse("192.0.2.0/25")).ok());
  EXPECT_EQ(reason(tcp_syn()), WB_REASON_AGENT_DOWN);
  EXPECT_EQ(dp_->bypass(Side::source)->size(), 1u);
}

TEST_F(ClassifierTest, CidrParsing) {
  EXPECT_EQ(Cidr::parse("10.1.2.3/8")->str(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::parse("2001:db8::1")->str(), "2001:db8::1/128");
  EXPECT_EQ(Cidr::parse("192.0.2.1")->prefix_len, 32);
  for (const char* bad :
       {"", "10.0.0.0/33", "::/129", "10.0.0/8", "10.0.0.0/", "x/8", "1.2.3.4/8x"})
    EXPECT_FALSE(Cidr::parse(bad).ok()) << bad;
}

TEST_F(ClassifierTest, VlanAndQinQ) {
  FrameSpec s = tcp_syn();
  s.vlan_tpids = {0x8100};
  EXPECT_EQ(reason(s), WB_REASON_TAGGED) << "the agent serves untagged frames only";
  s.vlan_tpids = {0x88a8, 0x8100};
  EXPECT_EQ(reason(s), WB_REASON_TAGGED);
  s.dport = 5201;
  EXPECT_EQ(reason(s), WB_REASON_NOT_CANDIDATE);
  s.vlan_tpids = {0x88a8, 0x8100, 0x8100};
  EXPECT_EQ(reason(s), WB_REASON_MALFORMED) << "deeper than the bound: not judged";
  FrameSpec u = udp(stun_binding_request(), 3478, 6);
  u.vlan_tpids = {0x88a8, 0x8100};
  auto d = run(u);
  EXPECT_EQ(d.reason, WB_REASON_UDP);
  EXPECT_EQ(d.flow_class, WB_CLASS_STUN);
}

TEST_F(ClassifierTest, Ipv4OptionsAndFragments) {
  FrameSpec s = tcp_syn();
  s.ipv4_option_words = 10;  // the maximum: 60-byte header
  EXPECT_EQ(reason(s), WB_REASON_AGENT_DOWN);
  FrameSpec u = udp(stun_binding_request(), 3478);
  u.ipv4_option_words = 3;
  EXPECT_EQ(flow_class(u), WB_CLASS_STUN);
  u.frag_offset = 185;  // a later fragment: no UDP header in it
  EXPECT_EQ(reason(u), WB_REASON_FRAGMENT);
  FrameSpec first = udp(quic_initial(1, 1400));
  first.more_fragments = true;
  configure([](wb_config& c) { c.block_quic = 1; });
  auto d = run(first);
  EXPECT_EQ(d.flow_class, WB_CLASS_QUIC) << "the first fragment carries the UDP header";
  FrameSpec tcp_frag = tcp_syn();
  tcp_frag.more_fragments = true;
  EXPECT_EQ(reason(tcp_frag), WB_REASON_FRAGMENT) << "TCP in fragments is never steered";
}

TEST_F(ClassifierTest, Ipv6ExtensionHeaders) {
  FrameSpec s = tcp_syn(6);
  s.ipv6_ext = {0, 60, 43, 51, 60};  // hop-by-hop, dst opts, routing, AH, dst opts
  EXPECT_EQ(reason(s), WB_REASON_AGENT_DOWN);
  s.ipv6_ext = {0, 60, 60, 60, 60, 60, 60};  // 7 > the bound of 6
  EXPECT_EQ(reason(s), WB_REASON_MALFORMED);
  FrameSpec f = udp(stun_binding_request(), 3478, 6);
  f.ipv6_ext = {0, 44};
  f.more_fragments = true;  // first fragment
  EXPECT_EQ(flow_class(f), WB_CLASS_STUN);
  f.frag_offset = 100;
  EXPECT_EQ(reason(f), WB_REASON_FRAGMENT);
  FrameSpec none = tcp_syn(6);
  none.l4 = 59;  // no next header
  EXPECT_EQ(reason(none), WB_REASON_OTHER_L4);
}

TEST_F(ClassifierTest, OtherL4Bypasses) {
  FrameSpec icmp = tcp_syn();
  icmp.l4 = 1;
  icmp.payload = from_hex("0800 f7ff 0000 0000");
  auto d = run(icmp);
  EXPECT_EQ(d.reason, WB_REASON_OTHER_L4);
  EXPECT_EQ(d.verdict, WB_VERDICT_BYPASS);
  FrameSpec sctp = tcp_syn(6);
  sctp.l4 = 132;
  EXPECT_EQ(reason(sctp), WB_REASON_OTHER_L4);
}

TEST_F(ClassifierTest, FramesForTheBridgeItselfStayWithTheBridge) {
  configure([](wb_config& c) {
    c.bridge_ifindex = 1;
    std::uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x02};  // the builder's default destination
    std::copy(mac, mac + 6, c.bridge_mac);
  });
  EXPECT_EQ(reason(tcp_syn()), WB_REASON_TO_BRIDGE);
  FrameSpec other = tcp_syn();
  other.dst_mac = {0x02, 0, 0, 0, 0, 0x09};
  EXPECT_EQ(reason(other), WB_REASON_AGENT_DOWN);
}

TEST_F(ClassifierTest, CountersByReasonAndClassAndFlowTable) {
  Bytes frame = build_frame(udp(stun_binding_request(), 3478));
  for (int i = 0; i < 3; ++i) run(frame);
  run(tcp_syn(6, 5201));
  auto counters = dp_->counters();
  ASSERT_TRUE(counters.ok());
  EXPECT_EQ(counters->by_reason[WB_REASON_UDP].packets, 3u);
  EXPECT_EQ(counters->by_reason[WB_REASON_UDP].bytes, 3u * frame.size());
  EXPECT_EQ(counters->by_class[WB_CLASS_STUN].packets, 3u);
  EXPECT_EQ(counters->by_reason[WB_REASON_NOT_CANDIDATE].packets, 1u);
  EXPECT_EQ(counters->by_class[WB_CLASS_TCP].packets, 1u);
  EXPECT_EQ(counters->verdict_total(WB_VERDICT_BYPASS).packets, 4u);
  EXPECT_EQ(counters->verdict_total(WB_VERDICT_STEER).packets, 0u);

  auto flows = dp_->flows();
  ASSERT_TRUE(flows.ok());
  ASSERT_EQ(flows->size(), 2u);
  for (const auto& flow : *flows) {
    if (flow.family() == AF_INET) {
      EXPECT_EQ(flow.src(), "192.0.2.1:40000");
      EXPECT_EQ(flow.dst(), "192.0.2.2:3478");
      EXPECT_EQ(flow.key.l4_proto, IPPROTO_UDP);
      EXPECT_EQ(flow.value.packets, 3u);
      EXPECT_EQ(flow.value.bytes, 3u * frame.size());
      EXPECT_EQ(flow.value.flow_class, WB_CLASS_STUN);
      EXPECT_EQ(flow.value.reason, WB_REASON_UDP);
      EXPECT_LE(flow.value.first_seen_ns, flow.value.last_seen_ns);
    } else {
      EXPECT_EQ(flow.src(), "[2001:db8::1]:40000");
      EXPECT_EQ(flow.dst(), "[2001:db8::2]:5201");
      EXPECT_EQ(flow.value.reason, WB_REASON_NOT_CANDIDATE);
      EXPECT_EQ(flow.value.flow_class, WB_CLASS_TCP);
    }
  }
  ASSERT_TRUE(dp_->clear_flows().ok());
  EXPECT_TRUE(dp_->flows()->empty());
}

TEST_F(ClassifierTest, ShortFramesAreRefusedNotMisread) {
  EXPECT_FALSE(dp_->classify(Bytes(13, 0)).ok());
  EXPECT_TRUE(dp_->classify(Bytes(14, 0)).ok());  // an empty non-IP frame is judged
  // The kernel's test run wants a whole IP header behind an IP ethertype.
  Bytes ip_cut = build_frame(tcp_syn());
  ip_cut.resize(30);
  EXPECT_FALSE(dp_->classify(ip_cut).ok());
  EXPECT_FALSE(dp_->classify(Bytes{}).ok());
  EXPECT_FALSE(dp_->measure_ns_per_packet(build_frame(tcp_syn()), 0).ok());
}

TEST_F(ClassifierTest, NamesAreStable) {
  EXPECT_STREQ(datapath::reason_name(WB_REASON_AGENT_DOWN), "agent_down");
  EXPECT_STREQ(datapath::reason_name(WB_REASON_QUIC_BLOCKED), "quic_blocked");
  EXPECT_STREQ(datapath::verdict_name(WB_VERDICT_STEER), "steer");
  EXPECT_STREQ(datapath::class_name(WB_CLASS_MSTURN_MUX), "msturn_mux");
  for (int r = 0; r < WB_REASON_MAX; ++r)
    EXPECT_STRNE(datapath::reason_name(static_cast<wb_reason>(r)), "unknown") << r;
  for (int c = 1; c < WB_CLASS_MAX; ++c)
    EXPECT_STRNE(datapath::class_name(static_cast<wb_flow_class>(c)), "unknown") << c;
  EXPECT_EQ(*datapath::parse_xdp_mode("native"), datapath::XdpMode::native);
  EXPECT_FALSE(datapath::parse_xdp_mode("fast").ok());
}

}  // namespace
}  // namespace wb::test
