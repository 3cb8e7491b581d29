#include "tests/datapath/datapath_fixture.h"

#include <cstdio>
#include <sstream>

namespace wb::test {
namespace {

bool parse_mac(const std::string& text, std::uint8_t out[6]) {
  unsigned v[6];
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
    return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<std::uint8_t>(v[i]);
  return true;
}

}  // namespace

void DatapathE2E::SetUp() {
  skip_unless_root("the namespace topology with BPF programs attached");
  topo_ = std::make_unique<Topology>(topology_options());
  ASSERT_TRUE(topo_->ok()) << topo_->error();
  pin_dir_ = "/sys/fs/bpf/wbt-" + topo_->prefix();
  eth1_ = topo_->ifindex(topo_->bridge(), Topology::kClientPort);
  eth2_ = topo_->ifindex(topo_->bridge(), Topology::kServerPort);
  br0_ = topo_->ifindex(topo_->bridge(), Topology::kBridge);
  ASSERT_GT(eth1_, 0);
  ASSERT_GT(eth2_, 0);
  ASSERT_GT(br0_, 0);
  auto dp = datapath::Datapath::open(pin_dir_);
  ASSERT_TRUE(dp.ok()) << dp.error().message();
  dp_.emplace(std::move(dp).value());

  CommandResult mac = run("ip -n " + topo_->bridge() +
                          " -o link show br0 | "
                          "sed -n 's/.*link\\/ether \\([0-9a-f:]*\\).*/\\1/p'");
  auto config = dp_->config();
  ASSERT_TRUE(config.ok());
  ASSERT_TRUE(parse_mac(mac.out, config->bridge_mac)) << mac.out;
  config->bridge_ifindex = static_cast<__u32>(br0_);
  config->steer_mark = kSteerMark;
  ASSERT_TRUE(dp_->set_config(*config).ok());

  NetnsGuard in_bridge(topo_->bridge());
  ASSERT_TRUE(in_bridge.ok());
  for (int ifindex : {eth1_, eth2_}) {
    auto attached = dp_->attach_tc(ifindex);
    ASSERT_TRUE(attached.ok()) << attached.error().message();
  }
}

void DatapathE2E::TearDown() {
  if (topo_ && topo_->ok()) {
    NetnsGuard in_bridge(topo_->bridge());
    for (int ifindex : {eth1_, eth2_}) {
      if (ifindex <= 0) continue;
      EXPECT_TRUE(datapath::Datapath::detach_tc(ifindex).ok());
      EXPECT_TRUE(datapath::Datapath::detach_xdp(ifindex).ok());
    }
  }
  dp_.reset();
  if (!pin_dir_.empty()) {
    EXPECT_TRUE(datapath::Datapath::remove_pins(pin_dir_).ok());
  }
  topo_.reset();
}

std::uint64_t DatapathE2E::packets(wb_reason reason) {
  auto counters = dp_->counters();
  EXPECT_TRUE(counters.ok());
  return counters.ok() ? counters->by_reason[reason].packets : 0;
}

void DatapathE2E::install_policy_routing() {
  std::ostringstream cmd;
  cmd << "set -e; sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0;"
      << " ip rule add fwmark " << kSteerMark << "/" << kSteerMark << " lookup " << kSteerTable
      << ";"
      << " ip route add local 0.0.0.0/0 dev lo table " << kSteerTable << ";"
      << " ip -6 rule add fwmark " << kSteerMark << "/" << kSteerMark << " lookup " << kSteerTable
      << ";"
      << " ip -6 route add local ::/0 dev lo table " << kSteerTable;
  CommandResult r = topo_->exec(topo_->bridge(), cmd.str());
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

bool DatapathE2E::listening(const std::string& ns, const std::string& proto, int port) {
  std::string flag = proto == "udp" ? "-uln" : "-tln";
  return eventually([&] {
    CommandResult r = topo_->exec(ns, "ss -H " + flag + " 'sport = :" + std::to_string(port) + "'");
    return r.exit_code == 0 && !r.out.empty();
  });
}

std::string start_udp443_logger(Topology& topo) {
  std::string log = topo.dir() + "/udp443.log";
  topo.spawn(topo.server(),
             "python3 -u -c 'import socket,sys\n"
             "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
             "s.bind((\"0.0.0.0\",443))\n"
             "while True:\n"
             "  d,a=s.recvfrom(4096)\n"
             "  print(d[:8].hex(),len(d),flush=True)' > " +
                 log,
             "udp443-logger");
  bool bound = eventually([&] {
    CommandResult r = topo.exec(topo.server(), "ss -H -uln 'sport = :443'");
    return r.exit_code == 0 && !r.out.empty();
  });
  return bound ? log : "";
}

CommandResult send_quic_initial_and_stun(Topology& topo) {
  return topo.exec(
      topo.client(),
      "python3 -c 'import socket\n"
      "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
      "q=bytes([0xc3,0,0,0,1,8])+bytes(range(8))+bytes([0,0])\n"
      "s.sendto(q+bytes(1200-len(q)),(\"192.0.2.2\",443))\n"
      "t=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
      "t.sendto(bytes.fromhex(\"000100082112a4420102030405060708090a0b0c80280004deadbeef\"),"
      "(\"192.0.2.2\",443))'");
}

}  // namespace wb::test
