// The optional XDP program (BPF_PROG_TEST_RUN): flows that can never be the agent's are
// redirected port to port through the DEVMAP (xdp_fast), QUIC Initials on the QUIC port are
// dropped with blocking on (quic_blocked), and everything the TC classifier must judge (SYNs
// and mid-flow packets on candidate ports, frames for the bridge, ARP, anything truncated)
// passes. The DEVMAP needs a real device as the peer: `lo` of a private network namespace,
// where the program is also attached in generic mode as `xdp = "generic"` would.
#include <linux/bpf.h>
#include <net/if.h>

#include "tests/bpf/classifier_fixture.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

class XdpTest : public ClassifierTest {
 protected:
  int xdp(const FrameSpec& spec, int ingress) { return xdp(build_frame(spec), ingress); }
  int xdp(const Bytes& frame, int ingress) {
    auto action = dp_->run_xdp(frame, ingress);
    EXPECT_TRUE(action.ok()) << action.error().message();
    return action.ok() ? *action : -1;
  }
  std::uint64_t count(wb_reason r) { return dp_->counters()->by_reason[r].packets; }
};

FrameSpec bulk_tcp(int v) {
  FrameSpec s = tcp_syn(v, 5201);
  s.tcp_flags = kTcpAck | kTcpPsh;
  s.payload = Bytes(100, 0x61);
  return s;
}

TEST_F(XdpTest, FastPathQuicDropAndPassToTc) {
  ASSERT_TRUE(in_private_netns([&] {
    int lo = static_cast<int>(if_nametoindex("lo"));
    ASSERT_GT(lo, 0);
    // No peer for the ingress port yet (fast path not configured): the bridge forwards.
    for (int v : {4, 6}) EXPECT_EQ(xdp(bulk_tcp(v), lo), XDP_PASS) << "v" << v;
    auto attached = dp_->attach_xdp(lo, datapath::XdpMode::generic, lo);
    ASSERT_TRUE(attached.ok()) << attached.error().message();

    for (int v : {4, 6}) {
      // Neither port a candidate: port to port, recorded as xdp_fast.
      EXPECT_EQ(xdp(bulk_tcp(v), lo), XDP_REDIRECT) << "v" << v;
      EXPECT_EQ(xdp(udp(stun_binding_request(), 3478, v), lo), XDP_REDIRECT) << "v" << v;
      // The TC classifier's business: SYN and mid-flow on a candidate port, either direction.
      EXPECT_EQ(xdp(tcp_syn(v, 443), lo), XDP_PASS) << "v" << v;
      FrameSpec reply = bulk_tcp(v);
      reply.sport = 443;
      EXPECT_EQ(xdp(reply, lo), XDP_PASS) << "v" << v;
    }
    EXPECT_EQ(count(WB_REASON_XDP_FAST), 4u);
    auto flows = dp_->flows();
    ASSERT_TRUE(flows.ok());
    bool fast = false;
    for (const auto& f : *flows)
      if (f.dst() == "192.0.2.2:5201" && f.value.reason == WB_REASON_XDP_FAST) fast = true;
    EXPECT_TRUE(fast) << "the fast-pathed flow is in the flow table";

    // QUIC Initials to the QUIC port are dropped here already; STUN on the same port is not.
    ASSERT_TRUE(dp_->set_block_quic(true).ok());
    for (int v : {4, 6}) {
      EXPECT_EQ(xdp(udp(quic_initial(1), 443, v), lo), XDP_DROP) << "v" << v;
      EXPECT_EQ(xdp(udp(quic_initial(0x6b3343cf), 443, v), lo), XDP_DROP) << "v" << v;
      EXPECT_EQ(xdp(udp(stun_binding_request(), 443, v), lo), XDP_REDIRECT) << "v" << v;
      EXPECT_EQ(xdp(udp(quic_initial(1), 8443, v), lo), XDP_REDIRECT) << "not the QUIC port";
    }
    EXPECT_EQ(count(WB_REASON_QUIC_BLOCKED), 4u);
    // Interception off: nothing dropped.
    ASSERT_TRUE(dp_->set_intercept(false).ok());
    EXPECT_EQ(xdp(udp(quic_initial(1), 443), lo), XDP_REDIRECT);
    ASSERT_TRUE(dp_->set_intercept(true).ok());

    // Excluded destinations are fast-pathed even on a candidate port.
    ASSERT_TRUE(
        dp_->add_bypass(datapath::Side::destination, *datapath::Cidr::parse("192.0.2.2")).ok());
    EXPECT_EQ(xdp(tcp_syn(4, 443), lo), XDP_REDIRECT);
    ASSERT_TRUE(
        dp_->del_bypass(datapath::Side::destination, *datapath::Cidr::parse("192.0.2.2")).ok());

    ASSERT_TRUE(dp_->attach_xdp(lo, datapath::XdpMode::off).ok());
  }));
}

TEST_F(XdpTest, BridgeFramesArpFragmentsAndDeepTagsPass) {
  ASSERT_TRUE(in_private_netns([&] {
    int lo = static_cast<int>(if_nametoindex("lo"));
    ASSERT_TRUE(dp_->attach_xdp(lo, datapath::XdpMode::generic, lo).ok());
    configure([](wb_config& c) {
      std::uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x02};  // the builder's default destination
      std::copy(mac, mac + 6, c.bridge_mac);
    });
    EXPECT_EQ(xdp(bulk_tcp(4), lo), XDP_PASS) << "addressed to the bridge";
    configure([](wb_config& c) { c.bridge_mac[5] = 0xfe; });
    FrameSpec arp;
    arp.ip_version = 0;
    arp.ethertype = 0x0806;
    arp.payload = Bytes(28, 0x01);
    EXPECT_EQ(xdp(arp, lo), XDP_PASS);
    FrameSpec frag = bulk_tcp(4);
    frag.more_fragments = true;
    EXPECT_EQ(xdp(frag, lo), XDP_PASS);
    frag.more_fragments = false;
    frag.frag_offset = 100;
    EXPECT_EQ(xdp(frag, lo), XDP_PASS);
    FrameSpec deep = bulk_tcp(4);
    deep.vlan_tpids = {0x88a8, 0x8100, 0x8100};
    EXPECT_EQ(xdp(deep, lo), XDP_PASS);
    FrameSpec qinq = bulk_tcp(6);
    qinq.vlan_tpids = {0x88a8, 0x8100};
    EXPECT_EQ(xdp(qinq, lo), XDP_REDIRECT) << "802.1ad + 802.1Q parsed";
    ASSERT_TRUE(dp_->attach_xdp(lo, datapath::XdpMode::off).ok());
  }));
}

// Every prefix of a frame (XDP test runs accept any length from 14 bytes, IP headers cut
// included): never redirected, never dropped, only passed to the TC classifier.
TEST_F(XdpTest, EveryTruncationPasses) {
  ASSERT_TRUE(in_private_netns([&] {
    int lo = static_cast<int>(if_nametoindex("lo"));
    ASSERT_TRUE(dp_->attach_xdp(lo, datapath::XdpMode::generic, lo).ok());
    ASSERT_TRUE(dp_->set_block_quic(true).ok());
    FrameSpec qinq_quic = udp(quic_initial(1), 443, 6);
    qinq_quic.vlan_tpids = {0x88a8, 0x8100};
    FrameSpec v4_opts = bulk_tcp(4);
    v4_opts.ipv4_option_words = 3;
    FrameSpec v6_ext = udp(stun_binding_request(), 3478, 6);
    v6_ext.ipv6_ext = {0, 60};
    for (const FrameSpec& spec : {v4_opts, v6_ext, udp(quic_initial(1), 443), qinq_quic}) {
      Bytes full = build_frame(spec);
      ASSERT_NE(xdp(full, lo), XDP_PASS) << "the whole frame is judged";
      for (std::size_t n = 14; n < full.size(); ++n) {
        Bytes cut(full.begin(), full.begin() + static_cast<long>(n));
        ASSERT_EQ(xdp(cut, lo), XDP_PASS) << "cut at " << n << " of " << full.size();
      }
    }
    ASSERT_TRUE(dp_->attach_xdp(lo, datapath::XdpMode::off).ok());
  }));
}

}  // namespace
}  // namespace wb::test
