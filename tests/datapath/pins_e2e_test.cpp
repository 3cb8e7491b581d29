// Pins and attachment lifecycle: named fields in `bpftool map dump pinned`, pins reused by a
// restarted agent (policy, counters and attached programs survive), and a static undo that
// needs only the interfaces and the pin directory (`wirebump down` after SIGKILL).
#include <filesystem>

#include "tests/datapath/datapath_fixture.h"

namespace wb::test {
namespace {

std::string tc_filters(Topology& topo, const char* dev) {
  return topo.exec(topo.bridge(), std::string("tc filter show dev ") + dev + " ingress").out;
}

TEST_F(DatapathE2E, BpftoolDumpShowsNamedFields) {
  CommandResult ping = topo_->exec(topo_->client(), "ping -c2 -i0.2 -W1 -q 192.0.2.2");
  ASSERT_EQ(ping.exit_code, 0) << ping.err;
  topo_->spawn(topo_->server(), "socat -u UDP-RECV:3478 OPEN:/dev/null", "udp-sink");
  ASSERT_TRUE(listening(topo_->server(), "udp", 3478));
  CommandResult r = topo_->exec(topo_->client(),
                                "printf '\\000\\001\\000\\000\\041\\022\\244\\102abcdefghijkl' | "
                                "socat -u - UDP:192.0.2.2:3478");
  ASSERT_EQ(r.exit_code, 0) << r.err;

  struct Expect {
    const char* map;
    std::vector<const char*> fields;
  };
  for (const Expect& e :
       {Expect{WB_MAP_CONFIG, {"intercept_enabled", "block_quic", "bridge_ifindex", "bridge_mac"}},
        Expect{WB_MAP_FLOWS,
               {"saddr", "daddr", "sport", "dport", "l4_proto", "packets", "bytes", "first_seen_ns",
                "last_seen_ns", "verdict", "reason", "flow_class"}},
        Expect{WB_MAP_COUNTERS, {"packets", "bytes", "cpu"}},
        Expect{WB_MAP_PORTS, {"443", "5061"}}}) {
    CommandResult dump = run("bpftool map dump pinned " + pin_dir_ + "/" + e.map);
    ASSERT_EQ(dump.exit_code, 0) << e.map << ": " << dump.err;
    for (const char* field : e.fields)
      EXPECT_NE(dump.out.find(field), std::string::npos) << e.map << " lacks " << field << "\n"
                                                         << dump.out.substr(0, 2000);
  }
  // The STUN datagram is in the flow table with its class (3478 = 0x0d96 in network order).
  CommandResult flows = run("bpftool -j map dump pinned " + pin_dir_ + "/" WB_MAP_FLOWS);
  EXPECT_NE(flows.out.find("\"flow_class\":" + std::to_string(WB_CLASS_STUN)), std::string::npos)
      << flows.out.substr(0, 3000);
}

TEST_F(DatapathE2E, ARestartedAgentReusesThePinsAndTheAttachedPrograms) {
  ASSERT_TRUE(dp_->add_port(8443).ok());
  ASSERT_TRUE(
      dp_->add_bypass(datapath::Side::destination, *datapath::Cidr::parse("198.51.100.0/24")).ok());
  CommandResult ping = topo_->exec(topo_->client(), "ping -c3 -i0.2 -W1 -q 192.0.2.2");
  ASSERT_EQ(ping.exit_code, 0);
  std::uint64_t icmp = packets(WB_REASON_OTHER_L4);
  ASSERT_GE(icmp, 3u);
  auto old_config = dp_->config();

  dp_.reset();  // the agent exits (or is killed): programs stay attached, maps stay pinned
  EXPECT_NE(tc_filters(*topo_, "eth1").find("wb_tc_ingress"), std::string::npos);
  ping = topo_->exec(topo_->client(), "ping -c2 -i0.2 -W1 -q 192.0.2.2");
  EXPECT_EQ(ping.exit_code, 0) << "the bridge keeps forwarding with no agent";

  auto again = datapath::Datapath::open(pin_dir_);
  ASSERT_TRUE(again.ok()) << again.error().message();
  dp_.emplace(std::move(again).value());
  EXPECT_EQ(*dp_->ports(), (std::vector<std::uint16_t>{443, 5061, 8443})) << "policy survived";
  EXPECT_EQ(dp_->bypass(datapath::Side::destination)->size(), 1u);
  EXPECT_EQ(dp_->config()->bridge_ifindex, old_config->bridge_ifindex) << "config not reset";
  EXPECT_GE(packets(WB_REASON_OTHER_L4), icmp + 4) << "the old programs counted into the same maps";

  // Strict mode refuses to adopt existing pins.
  EXPECT_FALSE(datapath::Datapath::open(pin_dir_, {.reuse_pins = false}).ok());
}

TEST_F(DatapathE2E, StaticUndoLeavesNoFilterAndNoPin) {
  dp_.reset();  // as after SIGKILL: only the interface names and the pin directory are known
  EXPECT_NE(tc_filters(*topo_, "eth2").find("wb_tc_ingress"), std::string::npos);
  {
    NetnsGuard in_bridge(topo_->bridge());
    ASSERT_TRUE(in_bridge.ok());
    for (int ifindex : {eth1_, eth2_}) {
      ASSERT_TRUE(datapath::Datapath::detach_tc(ifindex).ok());
      ASSERT_TRUE(datapath::Datapath::detach_tc(ifindex).ok()) << "idempotent";
      ASSERT_TRUE(datapath::Datapath::remove_clsact(ifindex).ok());
    }
  }
  ASSERT_TRUE(datapath::Datapath::remove_pins(pin_dir_).ok());
  ASSERT_TRUE(datapath::Datapath::remove_pins(pin_dir_).ok()) << "idempotent";
  EXPECT_TRUE(tc_filters(*topo_, "eth1").empty());
  EXPECT_TRUE(tc_filters(*topo_, "eth2").empty());
  EXPECT_EQ(topo_->exec(topo_->bridge(), "tc qdisc show dev eth1").out.find("clsact"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(pin_dir_));
  CommandResult ping = topo_->exec(topo_->client(), "ping -c2 -i0.2 -W1 -q 192.0.2.2");
  EXPECT_EQ(ping.exit_code, 0);
}

// Both XDP modes between real veth ports (`xdp = "generic" | "native"`).
class XdpE2E : public DatapathE2E, public ::testing::WithParamInterface<datapath::XdpMode> {
 protected:
  TopologyOptions topology_options() const override { return {.tx_offload = false}; }
};

TEST_P(XdpE2E, FastPathAndQuicDrop) {
  const datapath::XdpMode mode = GetParam();
  if (mode == datapath::XdpMode::native) {
    // Native redirect into a veth needs NAPI on the receiving end, in both directions
    // (KERNEL-FACTS.md): GRO on the client's and the server's interface.
    for (auto [ns, dev] : {std::pair{topo_->client(), "cli0"}, std::pair{topo_->server(), "srv0"}})
      ASSERT_EQ(topo_->exec(ns, std::string("ethtool -K ") + dev + " gro on").exit_code, 0);
  }
  {
    NetnsGuard in_bridge(topo_->bridge());
    ASSERT_TRUE(in_bridge.ok());
    // Inside the bridge namespace: the DEVMAP resolves the peer ifindex where it is updated.
    for (auto [port, peer] : {std::pair{eth1_, eth2_}, std::pair{eth2_, eth1_}}) {
      auto st = dp_->attach_xdp(port, mode, peer);
      ASSERT_TRUE(st.ok()) << st.error().message();
    }
  }
  const std::string link = topo_->exec(topo_->bridge(), "ip -d link show eth1").out;
  if (mode == datapath::XdpMode::generic) {
    EXPECT_NE(link.find("xdpgeneric"), std::string::npos) << link;
  } else {
    EXPECT_NE(link.find("prog/xdp"), std::string::npos) << link;
    EXPECT_EQ(link.find("xdpgeneric"), std::string::npos) << link;
  }
  topo_->spawn(topo_->server(), "iperf3 -s -1 -p 5201", "iperf3-server");
  ASSERT_TRUE(listening(topo_->server(), "tcp", 5201));
  CommandResult r =
      topo_->exec(topo_->client(), "iperf3 -c 192.0.2.2 -p 5201 -t 1 --connect-timeout 3000",
                  std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_GT(packets(WB_REASON_XDP_FAST), 100u) << "bulk flow redirected port to port";

  ASSERT_TRUE(dp_->set_block_quic(true).ok());
  CommandResult q = send_quic_initial_and_stun(*topo_);
  ASSERT_EQ(q.exit_code, 0);
  EXPECT_TRUE(eventually([&] { return packets(WB_REASON_QUIC_BLOCKED) == 1; }));

  {
    NetnsGuard in_bridge(topo_->bridge());
    ASSERT_TRUE(dp_->attach_xdp(eth1_, datapath::XdpMode::off).ok());
  }
  EXPECT_EQ(topo_->exec(topo_->bridge(), "ip link show eth1").out.find("xdp"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Modes, XdpE2E,
                         ::testing::Values(datapath::XdpMode::generic, datapath::XdpMode::native),
                         [](const auto& info) {
                           return std::string(datapath::to_string(info.param));
                         });

}  // namespace
}  // namespace wb::test
