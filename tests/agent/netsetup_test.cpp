// wb_netsetup against the real kernel, inside the Topology fixture's bridge namespace: setup
// produces the bridge, ports, switches, rules and routes the steering needs, and teardown
// leaves `ip` output exactly as it was before.
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "agent/netsetup/netsetup.h"
#include "tests/support/topology.h"

namespace wb::netsetup {
namespace {

using test::Topology;

SteeringRouting test_routing() {
  return {0x2000, 0x2000, 2000, 2000};
}

// Everything in the namespace that setup may touch, with the running timers masked out.
std::string snapshot(const Topology& topo) {
  auto r = topo.exec(topo.bridge(),
                     "ip -d link show; ip rule; ip -6 rule; ip route show table all; "
                     "ip -6 route show table all");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return std::regex_replace(r.out, std::regex(R"(\w+_timer +[0-9.]+)"), "TIMER");
}

// The first snapshot of a fresh topology waits until the kernel stops adding things on its own
// (IPv6 link-local addresses appear once linkwatch reports carrier, up to a second later).
std::string settled_snapshot(const Topology& topo) {
  std::string last = snapshot(topo);
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    std::string now = snapshot(topo);
    if (now == last) return now;
    last = now;
  }
  return last;
}

// The snapshot after teardown, compared with `expected` until it matches or 8 s pass. The kernel
// re-runs IPv6 duplicate address detection on its own when a link's carrier settles, and a
// link-local address's local route is absent until DAD completes (up to ~2 s): under load that
// can fall right after teardown. Anything teardown really left behind stays different.
std::string snapshot_matching(const Topology& topo, const std::string& expected) {
  std::string now = snapshot(topo);
  for (int i = 0; i < 16 && now != expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    now = snapshot(topo);
  }
  return now;
}

std::string ip(const Topology& topo, const std::string& args) {
  return topo.exec(topo.bridge(), "ip " + args).out;
}

class NetsetupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(topo_.ok()) << topo_.error();
    state_path_ = topo_.dir() + "/netsetup.json";
  }
  // Two fresh veth pairs (down) in the bridge namespace, to be enslaved by setup.
  void add_spare_ports() {
    auto r = topo_.exec(topo_.bridge(),
                        "ip link add p1a type veth peer name p1b && "
                        "ip link add p2a type veth peer name p2b && "
                        // A port that has been up before keeps its default qdisc; a never-up
                        // veth shows \"noop\" until then, which no teardown can restore.
                        "for p in p1a p2a; do ip link set $p up; ip link set $p down; done");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  Result<BridgeInfo> setup(const NetSpec& spec) {
    test::NetnsGuard in(topo_.bridge());
    EXPECT_TRUE(in.ok());
    return setup_network(spec, state_path_);
  }
  Status teardown() {
    test::NetnsGuard in(topo_.bridge());
    EXPECT_TRUE(in.ok());
    return teardown_network(state_path_);
  }

  Topology topo_;
  std::string state_path_;
};

TEST_F(NetsetupTest, AdoptsBridgeInstallsRoutingAndRestoresEverything) {
  // A bridge with netfilter calls on, as an operator might have left it.
  ASSERT_EQ(topo_
                .exec(topo_.bridge(),
                      "ip link set br0 type bridge nf_call_iptables 1 "
                      "nf_call_ip6tables 1 nf_call_arptables 1")
                .exit_code,
            0);
  const std::string before = settled_snapshot(topo_);

  NetSpec spec{"br0", {"eth1", "eth2"}, test_routing()};
  auto info = setup(spec);
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_FALSE(info->created);
  EXPECT_EQ(info->bridge.ifindex, topo_.ifindex(topo_.bridge(), "br0"));
  ASSERT_EQ(info->ports.size(), 2u);
  EXPECT_EQ(info->ports[0].ifindex, topo_.ifindex(topo_.bridge(), "eth1"));
  EXPECT_EQ(info->ports[1].master_ifindex, info->bridge.ifindex);
  char mac[32];
  std::snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", info->bridge.mac[0],
                info->bridge.mac[1], info->bridge.mac[2], info->bridge.mac[3], info->bridge.mac[4],
                info->bridge.mac[5]);
  EXPECT_NE(ip(topo_, "link show br0").find(mac), std::string::npos) << mac;

  EXPECT_NE(ip(topo_, "rule").find("2000:\tfrom all fwmark 0x2000/0x2000 lookup 2000"),
            std::string::npos)
      << ip(topo_, "rule");
  EXPECT_NE(ip(topo_, "-6 rule").find("fwmark 0x2000/0x2000 lookup 2000"), std::string::npos);
  EXPECT_NE(ip(topo_, "route show table 2000").find("local default dev lo"), std::string::npos)
      << ip(topo_, "route show table 2000");
  EXPECT_NE(ip(topo_, "-6 route show table 2000").find("local default dev lo"), std::string::npos);
  const std::string details = ip(topo_, "-d link show br0");
  EXPECT_NE(details.find("nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0"),
            std::string::npos)
      << details;

  auto down = teardown();
  ASSERT_TRUE(down.ok()) << down.error().message();
  EXPECT_EQ(snapshot_matching(topo_, before), before);
  EXPECT_NE(access(state_path_.c_str(), F_OK), 0) << "state file left behind";
}

TEST_F(NetsetupTest, CreatesBridgeEnslavesAndDeletesOnlyWhatItCreated) {
  add_spare_ports();
  const std::string before = settled_snapshot(topo_);

  auto info = setup({"wbbr7", {"p1a", "p2a"}, test_routing()});
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_TRUE(info->created);
  const std::string link = ip(topo_, "-d link show wbbr7");
  EXPECT_NE(link.find(",UP"), std::string::npos) << link;
  EXPECT_NE(link.find("bridge "), std::string::npos) << link;
  for (const char* port : {"p1a", "p2a"}) {
    const std::string text = ip(topo_, std::string("link show ") + port);
    EXPECT_NE(text.find("master wbbr7"), std::string::npos) << text;
    EXPECT_NE(text.find(",UP"), std::string::npos) << text;
  }

  ASSERT_TRUE(teardown().ok());
  EXPECT_EQ(ip(topo_, "link show wbbr7"), "");
  EXPECT_EQ(snapshot_matching(topo_, before), before);
}

TEST_F(NetsetupTest, RestartAfterKillKeepsRecordsAndNeverClaimsForeignObjects) {
  add_spare_ports();
  // Someone else's identical IPv4 rule: setup must not remove it on teardown.
  ASSERT_EQ(topo_.exec(topo_.bridge(), "ip rule add fwmark 0x2000/0x2000 lookup 2000 prio 2000")
                .exit_code,
            0);
  const std::string before = settled_snapshot(topo_);
  NetSpec spec{"wbbr8", {"p1a"}, test_routing()};
  ASSERT_TRUE(setup(spec).ok());
  // A second run with the state file of the first (as after SIGKILL): the bridge exists now,
  // but the record that wirebump created it survives.
  auto again = setup(spec);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_TRUE(again->created);
  ASSERT_TRUE(teardown().ok());
  EXPECT_EQ(snapshot_matching(topo_, before), before);
  EXPECT_NE(ip(topo_, "rule").find("fwmark 0x2000/0x2000 lookup 2000"), std::string::npos);
}

TEST_F(NetsetupTest, ErrorsNameInterfaceAndOperationAndUndoPartialWork) {
  add_spare_ports();
  auto missing = setup({"br0", {"eth1", "nope0"}, test_routing()});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().message(), "find interface nope0: No such device");

  ASSERT_EQ(topo_.exec(topo_.bridge(), "ip link add br9 type bridge && ip link set p2a master br9")
                .exit_code,
            0);
  const std::string with_br9 = settled_snapshot(topo_);
  auto busy = setup({"br0", {"p1a", "p2a"}, test_routing()});
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().message(),
            "enslave p2a to br0: it already belongs to br9: Device or resource busy");
  // p1a was enslaved and brought up before p2a failed: that was undone.
  EXPECT_EQ(snapshot_matching(topo_, with_br9), with_br9);

  auto not_bridge = setup({"p1a", {"eth1"}, test_routing()});
  ASSERT_FALSE(not_bridge.ok());
  EXPECT_EQ(not_bridge.error().message(),
            "adopt p1a: it exists and is not a bridge: Invalid argument");
}

// Without CAP_NET_ADMIN the kernel refuses, and the message says which step on which interface.
TEST_F(NetsetupTest, PermissionErrorNamesTheStep) {
  add_spare_ports();
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipefd[0]);
    test::NetnsGuard in(topo_.bridge());
    __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct data[2] = {};
    syscall(SYS_capget, &header, data);
    data[0].effective &= ~(1u << CAP_NET_ADMIN);
    if (syscall(SYS_capset, &header, data) != 0) _exit(2);
    auto r = setup_network({"br0", {"p1a"}, test_routing()}, state_path_);
    std::string msg = r.ok() ? "ok" : r.error().message();
    (void)!write(pipefd[1], msg.data(), msg.size());
    _exit(0);
  }
  close(pipefd[1]);
  char buf[256] = {};
  ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);
  close(pipefd[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)),
            "enslave p1a to br0: Operation not permitted");
}

TEST(NetStateTest, JsonRoundTripAndBadInput) {
  NetState s;
  s.bridge = "br0";
  s.routing = {1, 1, 100, 100};
  s.created_bridge = true;
  s.enslaved_ports = {"eth1"};
  s.nf_call_before = NfCall{1, 1, 0};
  s.route_v6 = true;
  auto back = from_json_text(to_json_text(s));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, s);
  const std::string text = to_json_text(s);
  for (std::size_t len = 0; len < text.size() - 2; ++len) {
    EXPECT_FALSE(from_json_text(text.substr(0, len)).ok()) << len;
  }
  EXPECT_FALSE(from_json_text(R"({"bridge": 5})").ok());
}

}  // namespace
}  // namespace wb::netsetup
