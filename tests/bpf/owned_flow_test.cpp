// The classifier's socket lookups (BPF_PROG_TEST_RUN): later packets of a flow a local socket
// owns are steered in both directions (steer_client, steer_server), a SYN whose 4-tuple an old
// socket holds in TIME_WAIT is handed over without an assign (steer_time_wait), and TIME_WAIT
// or listening sockets never make a mid-flow packet "owned". The sockets are real TCP sockets
// on loopback in a private network namespace: the kernel runs a test frame in the calling
// thread's namespace, so the program's bpf_skc_lookup_tcp sees exactly these sockets.
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/common/unique_fd.h"
#include "tests/bpf/classifier_fixture.h"
#include "tests/support/process.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

constexpr std::uint32_t kMark = 0x100;

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

// A loopback TCP connection: listener, the client's socket and the accepted one.
struct Connection {
  UniqueFd listener, client, accepted;
  std::uint16_t server_port = 0, client_port = 0;

  bool open() {
    listener = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
        listen(listener.get(), 4) != 0)
      return false;
    server_port = local_port(listener.get());
    a.sin_port = htons(server_port);
    client = UniqueFd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (connect(client.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return false;
    client_port = local_port(client.get());
    accepted = UniqueFd(accept(listener.get(), nullptr, nullptr));
    return static_cast<bool>(accepted);
  }

  // A TCP frame of this connection: client -> server, or the server's reply.
  FrameSpec frame(bool from_client, std::uint8_t flags) const {
    FrameSpec s;
    s.src = s.dst = "127.0.0.1";
    s.sport = from_client ? client_port : server_port;
    s.dport = from_client ? server_port : client_port;
    s.tcp_flags = flags;
    return s;
  }
};

// Steering for real (not a dry run): the bridge is `lo` of the private namespace, the frames
// are addressed to another MAC, so the classifier rewrites, marks and redirects.
class OwnedFlowTest : public ClassifierTest {
 protected:
  void steer_to_lo() {
    auto cfg = dp_->config();
    ASSERT_TRUE(cfg.ok());
    cfg->bridge_ifindex = if_nametoindex("lo");
    ASSERT_GT(cfg->bridge_ifindex, 0u);
    std::uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0xfe};
    std::copy(mac, mac + 6, cfg->bridge_mac);
    cfg->steer_mark = kMark;
    ASSERT_TRUE(dp_->set_config(*cfg).ok());
  }
};

TEST_F(OwnedFlowTest, LaterPacketsOfAnOwnedFlowAreSteeredBothWays) {
  ASSERT_TRUE(in_private_netns([&] {
    steer_to_lo();
    Connection c;
    ASSERT_TRUE(c.open()) << std::strerror(errno);
    ASSERT_TRUE(dp_->add_port(c.server_port).ok());

    auto up = run(c.frame(true, kTcpAck | kTcpPsh));
    EXPECT_EQ(up.verdict, WB_VERDICT_STEER);
    EXPECT_EQ(up.reason, WB_REASON_STEER_CLIENT);
    EXPECT_EQ(up.tc_action, TC_ACT_REDIRECT);
    EXPECT_EQ(up.mark, kMark) << "the policy-routing rule matches the mark";

    auto down = run(c.frame(false, kTcpAck));
    EXPECT_EQ(down.verdict, WB_VERDICT_STEER);
    EXPECT_EQ(down.reason, WB_REASON_STEER_SERVER);
    EXPECT_EQ(down.tc_action, TC_ACT_REDIRECT);

    // Another client port of the same server: no socket, not owned.
    FrameSpec stranger = c.frame(true, kTcpAck);
    stranger.sport = static_cast<std::uint16_t>(c.client_port + 1);
    EXPECT_EQ(reason(stranger), WB_REASON_NOT_OWNED);

    // Owned flows stay steered with interception off (the switch governs new SYNs only).
    ASSERT_TRUE(dp_->set_intercept(false).ok());
    EXPECT_EQ(reason(c.frame(true, kTcpAck)), WB_REASON_STEER_CLIENT);
    EXPECT_EQ(reason(stranger), WB_REASON_INTERCEPT_OFF);
    ASSERT_TRUE(dp_->set_intercept(true).ok());

    // Not a candidate port any more: the lookup is skipped.
    ASSERT_TRUE(dp_->del_port(c.server_port).ok());
    EXPECT_EQ(reason(c.frame(true, kTcpAck)), WB_REASON_NOT_CANDIDATE);
    EXPECT_EQ(reason(c.frame(false, kTcpAck)), WB_REASON_NOT_CANDIDATE);
    ASSERT_TRUE(dp_->add_port(c.server_port).ok());

    // Without a bridge to divert to, nothing is steered (the agent never configured one).
    configure([](wb_config& cfg) { cfg.bridge_ifindex = 0; });
    EXPECT_EQ(reason(c.frame(true, kTcpAck)), WB_REASON_NOT_OWNED);

    auto counters = dp_->counters();
    ASSERT_TRUE(counters.ok());
    EXPECT_EQ(counters->by_reason[WB_REASON_STEER_CLIENT].packets, 2u);
    EXPECT_EQ(counters->by_reason[WB_REASON_STEER_SERVER].packets, 1u);
  }));
}

TEST_F(OwnedFlowTest, SynReusingATimeWaitTupleIsSteeredWithoutAssign) {
  ASSERT_TRUE(in_private_netns([&] {
    steer_to_lo();
    Connection c;
    ASSERT_TRUE(c.open()) << std::strerror(errno);
    ASSERT_TRUE(dp_->add_port(c.server_port).ok());
    ASSERT_TRUE(dp_->set_listener(c.listener.get()).ok());
    // The server side closes first, so ITS socket (the agent's, on a bridge) ends in TIME_WAIT.
    c.accepted.reset();
    char byte;
    ASSERT_EQ(recv(c.client.get(), &byte, 1, 0), 0) << "the client sees the server's FIN";
    c.client.reset();
    FrameSpec syn = c.frame(true, kTcpSyn);
    ASSERT_TRUE(eventually([&] { return reason(syn) == WB_REASON_STEER_TIME_WAIT; }))
        << "last reason " << datapath::reason_name(reason(syn));
    auto d = run(syn);
    EXPECT_EQ(d.verdict, WB_VERDICT_STEER);
    EXPECT_EQ(d.tc_action, TC_ACT_REDIRECT);
    EXPECT_EQ(d.mark, kMark);

    // A mid-flow packet of the dead connection: TIME_WAIT is never "owned" (return traffic of
    // a client reusing its port must not be captured by the old socket).
    EXPECT_EQ(reason(c.frame(true, kTcpAck)), WB_REASON_NOT_OWNED);
    EXPECT_EQ(reason(c.frame(false, kTcpAck)), WB_REASON_NOT_OWNED);

    // No listener registered: a SYN fails open even with the TIME_WAIT socket there.
    ASSERT_TRUE(dp_->clear_listener().ok());
    EXPECT_EQ(reason(syn), WB_REASON_AGENT_DOWN);
  }));
}

TEST_F(OwnedFlowTest, AListeningSocketDoesNotOwnMidFlowPackets) {
  ASSERT_TRUE(in_private_netns([&] {
    steer_to_lo();
    UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(listen(listener.get(), 4), 0);
    std::uint16_t port = local_port(listener.get());
    ASSERT_TRUE(dp_->add_port(port).ok());
    FrameSpec ack;
    ack.src = ack.dst = "127.0.0.1";
    ack.dport = port;
    ack.tcp_flags = kTcpAck;
    EXPECT_EQ(reason(ack), WB_REASON_NOT_OWNED);
  }));
}

}  // namespace
}  // namespace wb::test
