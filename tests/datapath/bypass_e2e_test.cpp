// Bypass in kernel on a real bridge: bulk TCP on a non-candidate port, interception off,
// QUIC blocking on UDP 443, and fail open when no agent listens.
#include <netinet/in.h>

#include "tests/datapath/datapath_fixture.h"

namespace wb::test {
namespace {

TEST_F(DatapathE2E, IperfOnANonCandidatePortBypassesAndShowsInTheFlowTable) {
  topo_->spawn(topo_->server(), "iperf3 -s -1 -p 5201", "iperf3-server");
  ASSERT_TRUE(listening(topo_->server(), "tcp", 5201));
  std::uint64_t before = packets(WB_REASON_NOT_CANDIDATE);
  CommandResult r =
      topo_->exec(topo_->client(), "iperf3 -c 192.0.2.2 -p 5201 -t 2 -J", std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("\"bits_per_second\""), std::string::npos);
  EXPECT_GT(packets(WB_REASON_NOT_CANDIDATE), before + 100);
  EXPECT_EQ(packets(WB_REASON_STEER_SYN), 0u);

  auto flows = dp_->flows();
  ASSERT_TRUE(flows.ok());
  bool data_flow = false, reply_flow = false;
  for (const auto& flow : *flows) {
    if (flow.key.l4_proto != IPPROTO_TCP) continue;
    if (flow.dst() == "192.0.2.2:5201" && flow.src().rfind("192.0.2.1:", 0) == 0 &&
        flow.value.packets > 100) {
      data_flow = true;
      EXPECT_EQ(flow.value.verdict, WB_VERDICT_BYPASS);
      EXPECT_EQ(flow.value.reason, WB_REASON_NOT_CANDIDATE);
      EXPECT_GT(flow.value.bytes, 1000000u);
    }
    if (flow.src() == "192.0.2.2:5201") reply_flow = true;
  }
  EXPECT_TRUE(data_flow) << "client -> server:5201 flow with its packets";
  EXPECT_TRUE(reply_flow) << "server -> client replies, seen on the server-side port";
}

TEST_F(DatapathE2E, InterceptionOffLetsTcp443Through) {
  ASSERT_TRUE(dp_->set_intercept(false).ok());
  topo_->spawn(topo_->server(), "socat TCP-LISTEN:443,reuseaddr,fork SYSTEM:'echo served'",
               "server443");
  ASSERT_TRUE(listening(topo_->server(), "tcp", 443));
  CommandResult r = topo_->exec(topo_->client(), "socat -T5 - TCP:192.0.2.2:443 </dev/null",
                                std::chrono::seconds(15));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("served"), std::string::npos);
  EXPECT_GE(packets(WB_REASON_INTERCEPT_OFF), 1u);
  EXPECT_EQ(packets(WB_REASON_AGENT_DOWN), 0u);
}

TEST_F(DatapathE2E, SynTo443WithoutAListenerReachesTheServer) {
  EXPECT_FALSE(dp_->has_listener());
  for (const char* proto :
       {"TCP-LISTEN:443,reuseaddr,fork", "TCP6-LISTEN:443,ipv6only=1,reuseaddr,fork"}) {
    topo_->spawn(topo_->server(), std::string("socat ") + proto + " SYSTEM:'echo served'",
                 proto[3] == '6' ? "server443v6" : "server443v4");
  }
  ASSERT_TRUE(listening(topo_->server(), "tcp", 443));
  for (const char* target : {"TCP:192.0.2.2:443", "TCP6:[2001:db8::2]:443"}) {
    std::uint64_t before = packets(WB_REASON_AGENT_DOWN);
    CommandResult r =
        topo_->exec(topo_->client(), std::string("socat -T5 - ") + target + " </dev/null",
                    std::chrono::seconds(15));
    EXPECT_EQ(r.exit_code, 0) << target << ": " << r.err;
    EXPECT_NE(r.out.find("served"), std::string::npos) << target;
    EXPECT_GE(packets(WB_REASON_AGENT_DOWN), before + 1) << target;
  }
  EXPECT_EQ(packets(WB_REASON_STEER_SYN), 0u);
}

TEST_F(DatapathE2E, QuicBlockingDropsAQuicInitialAndPassesStunOnUdp443) {
  ASSERT_TRUE(dp_->set_block_quic(true).ok());
  std::string log = start_udp443_logger(*topo_);
  ASSERT_FALSE(log.empty());
  CommandResult r = send_quic_initial_and_stun(*topo_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return read_file(log).find(kStunHex) != std::string::npos; }))
      << "STUN on UDP 443 must arrive: " << read_file(log);
  EXPECT_EQ(read_file(log).find(kQuicInitialHex), std::string::npos) << "QUIC Initial arrived";
  EXPECT_EQ(packets(WB_REASON_QUIC_BLOCKED), 1u);
  auto counters = dp_->counters();
  EXPECT_GE(counters->by_class[WB_CLASS_STUN].packets, 1u);
  EXPECT_GE(counters->by_class[WB_CLASS_QUIC].packets, 1u);

  // Blocking off: the same Initial arrives.
  ASSERT_TRUE(dp_->set_block_quic(false).ok());
  r = send_quic_initial_and_stun(*topo_);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(
      eventually([&] { return read_file(log).find(kQuicInitialHex) != std::string::npos; }));
}

}  // namespace
}  // namespace wb::test
