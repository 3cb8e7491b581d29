// The netns fixture itself: builds the lab, carries traffic through the plain bridge in both
// address families, and leaves nothing behind.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/topology.h"

namespace wb::test {
namespace {

bool namespace_exists(const std::string& name) {
  return std::filesystem::exists("/run/netns/" + name);
}

TEST(Topology, TcpThroughThePlainBridgeBothFamilies) {
  Topology topo;
  ASSERT_TRUE(topo.ok()) << topo.error();
  for (const char* server_ip : {Topology::kServerIp, Topology::kServerIp6}) {
    SCOPED_TRACE(server_ip);
    const std::string out = topo.dir() + "/received.bin";
    std::filesystem::remove(out);
    std::string listen = std::string(server_ip).find(':') != std::string::npos
                             ? "TCP6-LISTEN:9000,reuseaddr"
                             : "TCP4-LISTEN:9000,reuseaddr";
    Process& server = topo.spawn(topo.server(), "socat -u " + listen + " CREATE:" + out, "socat");
    ASSERT_TRUE(eventually([&] {
      return topo.exec(topo.server(), "ss -Hltn sport = :9000 | grep -q LISTEN").exit_code == 0;
    }));
    std::string dst = std::string(server_ip).find(':') != std::string::npos
                          ? "TCP6:[" + std::string(server_ip) + "]:9000"
                          : "TCP4:" + std::string(server_ip) + ":9000";
    auto send = topo.exec(topo.client(),
                          "head -c 1000000 /dev/urandom | tee " + topo.dir() + "/sent.bin | socat -u - " + dst);
    ASSERT_EQ(send.exit_code, 0) << send.err;
    ASSERT_EQ(server.wait(std::chrono::seconds(10)), 0) << server.log();
    EXPECT_EQ(read_file(out), read_file(topo.dir() + "/sent.bin"));
    EXPECT_EQ(read_file(out).size(), 1000000u);
  }
  // The server saw the client's own address: the plain bridge is transparent.
  auto neigh = topo.exec(topo.server(), "ip neigh show 192.0.2.1");
  EXPECT_NE(neigh.out.find("192.0.2.1"), std::string::npos) << neigh.out;
}

TEST(Topology, RemovesEverythingEvenWithProcessesInside) {
  std::string prefix;
  {
    Topology topo;
    ASSERT_TRUE(topo.ok()) << topo.error();
    prefix = topo.prefix();
    topo.spawn(topo.server(), "sleep 600", "sleeper");
    topo.spawn(topo.bridge(), "sleep 600", "sleeper2");
    EXPECT_TRUE(namespace_exists(topo.client()));
    EXPECT_TRUE(namespace_exists(topo.bridge()));
    EXPECT_TRUE(namespace_exists(topo.server()));
  }
  EXPECT_FALSE(namespace_exists(prefix + "-c"));
  EXPECT_FALSE(namespace_exists(prefix + "-b"));
  EXPECT_FALSE(namespace_exists(prefix + "-s"));
  EXPECT_EQ(run("pgrep -f '^sleep 600$'").exit_code, 1) << "background processes survived";
  EXPECT_FALSE(std::filesystem::exists("/tmp/" + prefix));
}

TEST(Topology, CommandsTimeOut) {
  auto r = run("sleep 30", std::chrono::milliseconds(200));
  EXPECT_TRUE(r.timed_out);
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace wb::test
