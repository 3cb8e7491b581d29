// Steering on a real bridge: a SYN to 443 is assigned to a transparent listener in the bridge
// namespace (the test relay standing in for the agent); the relay sees the ORIGINAL
// destination, connects upstream from the CLIENT's address, and the server sees the client's
// own address. Later client packets and the server's replies are found by socket lookup.
#include "tests/datapath/datapath_fixture.h"
#include "tests/datapath/test_relay.h"

namespace wb::test {
namespace {

constexpr std::uint16_t kRelayPort = 15443;

class SteerE2E : public DatapathE2E {
 protected:
  void SetUp() override {
    DatapathE2E::SetUp();
    if (HasFatalFailure()) return;
    install_policy_routing();
    auto relay = TestRelay::start(topo_->bridge(), kRelayPort);
    ASSERT_TRUE(relay.ok()) << relay.error().message();
    relay_ = std::move(relay).value();
    ASSERT_TRUE(dp_->set_listener(relay_->listener_v4()).ok());
    ASSERT_TRUE(dp_->set_listener(relay_->listener_v6()).ok());
    ASSERT_TRUE(dp_->has_listener());
    // The server answers with the peer address it sees, then whatever the client sent.
    topo_->spawn(
        topo_->server(),
        "socat TCP-LISTEN:443,reuseaddr,fork SYSTEM:'echo peer=$SOCAT_PEERADDR; head -c 5'",
        "server443v4");
    topo_->spawn(topo_->server(),
                 "socat TCP6-LISTEN:443,ipv6only=1,reuseaddr,fork "
                 "SYSTEM:'echo peer=$SOCAT_PEERADDR; head -c 5'",
                 "server443v6");
    ASSERT_TRUE(listening(topo_->server(), "tcp", 443));
  }
  void TearDown() override {
    relay_.reset();
    DatapathE2E::TearDown();
  }

  // client_endpoint: "192.0.2.1:" / "[2001:db8::1]:"; server_sees: socat's SOCAT_PEERADDR.
  void check_steered(const std::string& target, const std::string& client_endpoint,
                     const std::string& server_sees, const std::string& original_dst) {
    std::uint64_t syn = packets(WB_REASON_STEER_SYN);
    std::uint64_t client = packets(WB_REASON_STEER_CLIENT);
    std::uint64_t server = packets(WB_REASON_STEER_SERVER);
    std::size_t relayed = relay_->connections().size();
    CommandResult r = topo_->exec(topo_->client(), "printf hello | socat -T5 - " + target,
                                  std::chrono::seconds(20));
    ASSERT_EQ(r.exit_code, 0) << target << ": " << r.err;
    // The server saw the client's own address, and the client's bytes arrived through the relay.
    EXPECT_NE(r.out.find("peer=" + server_sees + "\n"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("hello"), std::string::npos) << r.out;
    ASSERT_TRUE(eventually([&] { return relay_->connections().size() == relayed + 1; }));
    RelayedConnection c = relay_->connections().back();
    EXPECT_EQ(c.original_dst, original_dst);
    EXPECT_EQ(c.client.rfind(client_endpoint, 0), 0u) << c.client;
    // The upstream socket is bound to the client's address (transparent), not the bridge's.
    EXPECT_EQ(c.upstream_local.rfind(client_endpoint, 0), 0u) << c.upstream_local;
    EXPECT_EQ(c.bytes_up, 5u);
    EXPECT_GT(c.bytes_down, 5u);
    EXPECT_GE(packets(WB_REASON_STEER_SYN), syn + 1);
    EXPECT_GE(packets(WB_REASON_STEER_CLIENT), client + 2);  // ACK, data, FIN
    EXPECT_GE(packets(WB_REASON_STEER_SERVER), server + 2);  // SYN-ACK, data, FIN
  }

  std::unique_ptr<TestRelay> relay_;
};

TEST_F(SteerE2E, Ipv4ConnectionIsRelayedTransparently) {
  check_steered("TCP:192.0.2.2:443", "192.0.2.1:", "192.0.2.1", "192.0.2.2:443");
  // The server's log address is the client's; nothing reached it from the bridge's address.
  EXPECT_EQ(packets(WB_REASON_AGENT_DOWN), 0u);
}

TEST_F(SteerE2E, Ipv6ConnectionIsRelayedTransparently) {
  check_steered("TCP6:[2001:db8::2]:443",
                "[2001:db8::1]:", "[2001:0db8:0000:0000:0000:0000:0000:0001]", "[2001:db8::2]:443");
}

TEST_F(SteerE2E, ClosedListenerMeansFailOpen) {
  check_steered("TCP:192.0.2.2:443", "192.0.2.1:", "192.0.2.1", "192.0.2.2:443");
  relay_.reset();  // the "agent" dies: its listeners close and leave the SOCKMAP
  EXPECT_FALSE(dp_->has_listener());
  std::uint64_t down = packets(WB_REASON_AGENT_DOWN);
  CommandResult r = topo_->exec(topo_->client(), "printf hello | socat -T5 - TCP:192.0.2.2:443",
                                std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("peer=192.0.2.1"), std::string::npos) << r.out;
  EXPECT_GE(packets(WB_REASON_AGENT_DOWN), down + 1);
}

TEST_F(SteerE2E, NonCandidatePortIsNotSteered) {
  topo_->spawn(topo_->server(), "socat TCP-LISTEN:8080,reuseaddr,fork SYSTEM:'echo plain'",
               "s8080");
  ASSERT_TRUE(listening(topo_->server(), "tcp", 8080));
  CommandResult r = topo_->exec(topo_->client(), "socat -T5 - TCP:192.0.2.2:8080 </dev/null",
                                std::chrono::seconds(15));
  EXPECT_NE(r.out.find("plain"), std::string::npos);
  EXPECT_TRUE(relay_->connections().empty());
  EXPECT_EQ(packets(WB_REASON_STEER_SYN), 0u);
}

}  // namespace
}  // namespace wb::test
