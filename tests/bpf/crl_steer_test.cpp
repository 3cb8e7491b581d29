// Steering of the CRL host (BPF_PROG_TEST_RUN on the real classifier and XDP programs): a SYN to
// an address in wb_crl_addr on port 80 is assigned to the revocation HTTP listener (steer_crl,
// WB_LISTENER_CRL_* slots), everything else to that address is judged as before (candidate
// ports go to the TLS listener, other ports and UDP pass), and the same fail-open rules as for
// TLS hold: interception off or no CRL listener -> bypass. XDP never fast-paths such a flow.
#include <linux/bpf.h>
#include <net/if.h>

#include "tests/bpf/classifier_fixture.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

constexpr const char* kCrlV4 = "203.0.113.80";
constexpr const char* kCrlV6 = "2001:db8:80::80";

FrameSpec to_crl(int v, std::uint16_t dport, std::uint8_t flags = kTcpSyn) {
  FrameSpec s = tcp_syn(v, dport);
  s.dst = v == 4 ? kCrlV4 : kCrlV6;
  s.tcp_flags = flags;
  return s;
}

class CrlSteerTest : public ListenerTest {
 protected:
  void SetUp() override {
    ListenerTest::SetUp();
    if (HasFatalFailure()) return;
    configure([](wb_config& c) { c.flags = WB_CONFIG_DRY_RUN; });
    std::vector<datapath::Cidr> hosts{*datapath::Cidr::parse(kCrlV4),
                                      *datapath::Cidr::parse(kCrlV6)};
    auto set = dp_->set_crl_addresses(hosts);
    ASSERT_TRUE(set.ok()) << set.error().message();
  }
  std::uint64_t count(wb_reason r) { return dp_->counters()->by_reason[r].packets; }
};

TEST_F(CrlSteerTest, AddressesAreStoredV4MappedAndReplacedAsAWhole) {
  auto hosts = dp_->crl_addresses();
  ASSERT_TRUE(hosts.ok()) << hosts.error().message();
  std::vector<std::string> names;
  for (const auto& h : *hosts) names.push_back(h.str());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"2001:db8:80::80/128", "203.0.113.80/32"}));
  // Replacing drops what is not in the new set.
  std::vector<datapath::Cidr> one{*datapath::Cidr::parse("198.51.100.7")};
  ASSERT_TRUE(dp_->set_crl_addresses(one).ok());
  ASSERT_EQ(dp_->crl_addresses()->size(), 1u);
  EXPECT_EQ(dp_->crl_addresses()->front().str(), "198.51.100.7/32");
  // Prefixes and too many addresses are refused with a reason.
  std::vector<datapath::Cidr> prefix{*datapath::Cidr::parse("198.51.100.0/24")};
  auto bad = dp_->set_crl_addresses(prefix);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("not a single address"), std::string::npos);
  std::vector<datapath::Cidr> many(WB_CRL_ADDR_MAX + 1, *datapath::Cidr::parse("198.51.100.8"));
  EXPECT_FALSE(dp_->set_crl_addresses(many).ok());
  ASSERT_TRUE(dp_->set_crl_addresses({}).ok());
  EXPECT_TRUE(dp_->crl_addresses()->empty());
  // Without the address, port 80 is not a candidate again.
  EXPECT_EQ(reason(to_crl(4, 80)), WB_REASON_NOT_CANDIDATE);
}

TEST_F(CrlSteerTest, SynToPort80OfTheCrlHostGoesToTheCrlListenerOfItsFamily) {
  UniqueFd crl4 = listen_on(AF_INET);
  UniqueFd crl6 = listen_on(AF_INET6);
  ASSERT_TRUE(dp_->set_crl_listener(crl4.get()).ok());
  EXPECT_TRUE(dp_->has_crl_listener());
  EXPECT_FALSE(dp_->has_listener()) << "the CRL slots are not the TLS listener";
  auto d = run(to_crl(4, 80));
  EXPECT_EQ(d.verdict, WB_VERDICT_STEER);
  EXPECT_EQ(d.reason, WB_REASON_STEER_CRL);
  EXPECT_EQ(d.flow_class, WB_CLASS_TCP);
  // No v6 CRL listener yet: a v6 SYN fails open; then it is steered too.
  EXPECT_EQ(reason(to_crl(6, 80)), WB_REASON_AGENT_DOWN);
  ASSERT_TRUE(dp_->set_crl_listener(crl6.get()).ok());
  EXPECT_EQ(reason(to_crl(6, 80)), WB_REASON_STEER_CRL);
  EXPECT_EQ(count(WB_REASON_STEER_CRL), 2u);
  EXPECT_STREQ(datapath::reason_name(WB_REASON_STEER_CRL), "steer_crl");
  // The flow table records the decision.
  bool recorded = false;
  auto flows = dp_->flows();
  ASSERT_TRUE(flows.ok());
  for (const auto& f : *flows) {
    if (f.dst() == std::string(kCrlV4) + ":80" && f.value.reason == WB_REASON_STEER_CRL) {
      recorded = f.value.verdict == WB_VERDICT_STEER;
    }
  }
  EXPECT_TRUE(recorded);
  // A v4 SYN falls back to a dual-stack v6 CRL listener, like the TLS one.
  crl4.reset();
  EXPECT_EQ(reason(to_crl(4, 80)), WB_REASON_STEER_CRL);
}

TEST_F(CrlSteerTest, OtherPortsAndProtocolsOfTheCrlHostAreJudgedAsUsual) {
  UniqueFd crl4 = listen_on(AF_INET);
  UniqueFd crl6 = listen_on(AF_INET6);
  ASSERT_TRUE(dp_->set_crl_listener(crl4.get()).ok());
  ASSERT_TRUE(dp_->set_crl_listener(crl6.get()).ok());
  for (int v : {4, 6}) {
    SCOPED_TRACE("v" + std::to_string(v));
    // 443 is a candidate: the TLS path as for any address; no TLS listener -> fail open.
    EXPECT_EQ(reason(to_crl(v, 443)), WB_REASON_AGENT_DOWN);
    EXPECT_EQ(reason(to_crl(v, 8080)), WB_REASON_NOT_CANDIDATE);
    EXPECT_EQ(reason(to_crl(v, 8081)), WB_REASON_NOT_CANDIDATE);
    EXPECT_EQ(reason(udp(Bytes(32, 0x41), 80, v)), WB_REASON_UDP);
    // Port 80 of any other address is not the CRL host's.
    EXPECT_EQ(reason(tcp_syn(v, 80)), WB_REASON_NOT_CANDIDATE);
    // Mid-flow packets of a port-80 flow nobody owns pass (no socket for the 4-tuple).
    EXPECT_EQ(reason(to_crl(v, 80, kTcpAck | kTcpPsh)), WB_REASON_NOT_OWNED);
    // A SYN-ACK from the CRL host's port 80 is not a SYN to it.
    FrameSpec reply = tcp_syn(v, 40000);
    reply.src = v == 4 ? kCrlV4 : kCrlV6;
    reply.sport = 80;
    reply.tcp_flags = kTcpSyn | kTcpAck;
    EXPECT_EQ(reason(reply), WB_REASON_NOT_CANDIDATE);
  }
  // With a TLS listener, 443 on the CRL host is an ordinary TLS candidate.
  UniqueFd tls = listen_on(AF_INET);
  ASSERT_TRUE(dp_->set_listener(tls.get()).ok());
  EXPECT_EQ(reason(to_crl(4, 443)), WB_REASON_STEER_SYN);
  // Port 80 made a candidate port: the CRL host's port 80 still goes to the CRL listener.
  ASSERT_TRUE(dp_->add_port(80).ok());
  EXPECT_EQ(reason(to_crl(4, 80)), WB_REASON_STEER_CRL);
  EXPECT_EQ(reason(tcp_syn(4, 80)), WB_REASON_STEER_SYN);
}

TEST_F(CrlSteerTest, FailsOpenWithoutListenerOrWithInterceptionOff) {
  // No CRL listener (a TLS listener alone does not serve the CRL host).
  UniqueFd tls = listen_on(AF_INET);
  ASSERT_TRUE(dp_->set_listener(tls.get()).ok());
  for (int v : {4, 6}) EXPECT_EQ(reason(to_crl(v, 80)), WB_REASON_AGENT_DOWN) << "v" << v;
  UniqueFd crl = listen_on(AF_INET);
  ASSERT_TRUE(dp_->set_crl_listener(crl.get()).ok());
  EXPECT_EQ(reason(to_crl(4, 80)), WB_REASON_STEER_CRL);
  ASSERT_TRUE(dp_->set_intercept(false).ok());
  auto d = run(to_crl(4, 80));
  EXPECT_EQ(d.reason, WB_REASON_INTERCEPT_OFF);
  EXPECT_EQ(d.tc_action, TC_ACT_OK);
  EXPECT_EQ(reason(to_crl(4, 80, kTcpAck)), WB_REASON_INTERCEPT_OFF);
  ASSERT_TRUE(dp_->set_intercept(true).ok());
  // Tagged SYNs are not served (the agent serves untagged frames), as for TLS.
  FrameSpec tagged = to_crl(4, 80);
  tagged.vlan_tpids = {0x8100};
  EXPECT_EQ(reason(tagged), WB_REASON_TAGGED);
  // The listener closes (agent gone): the kernel drops it from the SOCKMAP, fail open.
  crl.reset();
  EXPECT_FALSE(dp_->has_crl_listener());
  EXPECT_EQ(reason(to_crl(4, 80)), WB_REASON_AGENT_DOWN);
  // clear_listener() empties the CRL slots too.
  UniqueFd again = listen_on(AF_INET);
  ASSERT_TRUE(dp_->set_crl_listener(again.get()).ok());
  ASSERT_TRUE(dp_->clear_listener().ok());
  EXPECT_FALSE(dp_->has_crl_listener());
  EXPECT_EQ(reason(to_crl(4, 80)), WB_REASON_AGENT_DOWN);
}

TEST_F(CrlSteerTest, XdpLeavesTheCrlHostsPort80ToTc) {
  ASSERT_TRUE(in_private_netns([&] {
    int lo = static_cast<int>(if_nametoindex("lo"));
    ASSERT_GT(lo, 0);
    auto attached = dp_->attach_xdp(lo, datapath::XdpMode::generic, lo);
    ASSERT_TRUE(attached.ok()) << attached.error().message();
    for (int v : {4, 6}) {
      SCOPED_TRACE("v" + std::to_string(v));
      EXPECT_EQ(dp_->run_xdp(build_frame(to_crl(v, 80)), lo).value_or(-1), XDP_PASS);
      EXPECT_EQ(dp_->run_xdp(build_frame(to_crl(v, 80, kTcpAck | kTcpPsh)), lo).value_or(-1),
                XDP_PASS);
      // Other ports of that address, and port 80 elsewhere, are fast-pathed as before.
      EXPECT_EQ(dp_->run_xdp(build_frame(to_crl(v, 8080, kTcpAck)), lo).value_or(-1), XDP_REDIRECT);
      EXPECT_EQ(dp_->run_xdp(build_frame(tcp_syn(v, 80)), lo).value_or(-1), XDP_REDIRECT);
    }
    EXPECT_EQ(count(WB_REASON_XDP_FAST), 4u);
    ASSERT_TRUE(dp_->detach_xdp(lo).ok());
  }));
}

}  // namespace
}  // namespace wb::test
