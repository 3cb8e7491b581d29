// The MS-TURN test peer end to end in a netns topology (client -> plain bridge -> server), and a
// real peer-to-peer run relayed through the TURN inspector: both directions of the live byte
// stream are fed to it and the allocation and the media byte counts must match what was sent.
#include <gtest/gtest.h>

#include "agent/common/unique_fd.h"
#include "inspectors/factory.h"
#include "tests/peers/tcp_relay.h"
#include "tests/peers/peer_env.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

std::string peer_binary() {
  return binary_path("tests/peers/wb_ms_turn_peer");
}

TEST(MsTurnPeer, ClientAndServerThroughThePlainBridge) {
  Topology topo;
  ASSERT_TRUE(topo.ok()) << topo.error();
  Process& server =
      topo.spawn(topo.server(), peer_binary() + " server --listen 192.0.2.2:443", "ms-turn-server");
  ASSERT_TRUE(eventually([&] { return listening(topo, topo.server(), 443); })) << server.log();
  auto send =
      topo.exec(topo.client(), peer_binary() + " client --connect 192.0.2.2:443 --bytes 200000");
  ASSERT_EQ(send.exit_code, 0) << send.out << send.err << server.log();
  EXPECT_NE(send.out.find("allocated relayed=198.51.100.20:50000 lifetime=600 ms-version=2"),
            std::string::npos);
  EXPECT_NE(send.out.find("sent=200000 received=200000 ok"), std::string::npos);
  auto frames = topo.exec(
      topo.client(), peer_binary() + " client --connect 192.0.2.2:443 --bytes 30000 --data-frames");
  ASSERT_EQ(frames.exit_code, 0) << frames.out << frames.err;
  // A client that is not MS-TURN gets closed, not answered.
  auto junk = topo.exec(topo.client(),
                        "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | socat -T 3 - TCP4:192.0.2.2:443");
  EXPECT_EQ(junk.out, "");
}

TEST(MsTurnPeer, LiveRunThroughTheTurnInspector) {
  Topology topo;
  ASSERT_TRUE(topo.ok()) << topo.error();
  Process& server =
      topo.spawn(topo.server(), peer_binary() + " server --listen 192.0.2.2:443", "ms-turn-server");
  ASSERT_TRUE(eventually([&] { return listening(topo, topo.server(), 443); })) << server.log();

  NetnsGuard in_client(topo.client());
  ASSERT_TRUE(in_client.ok());
  UniqueFd listener = listen_tcp(Topology::kClientIp, 4443);
  ASSERT_GE(listener.get(), 0);

  for (bool data_frames : {false, true}) {
    SCOPED_TRACE(data_frames ? "data frames" : "Send/Data indications");
    const std::size_t bytes = data_frames ? 64000 : 120000;
    Process& client =
        topo.spawn(topo.client(),
                   peer_binary() + " client --connect 192.0.2.1:4443 --bytes " +
                       std::to_string(bytes) + (data_frames ? " --data-frames --chunk 1400" : ""),
                   data_frames ? "client-frames" : "client-send");
    auto inspector = inspect::make_inspector("ms-turn", {});
    ASSERT_TRUE(inspector.ok());
    EXPECT_EQ(
        relay_one(listener.get(), Topology::kServerIp, 443, **inspector, std::chrono::seconds(30)),
        "");
    ASSERT_EQ(client.wait(std::chrono::seconds(10)), 0) << client.log();

    nlohmann::json detail = (*inspector)->detail();
    EXPECT_TRUE(detail["pseudo_tls"]["client"].get<bool>()) << detail.dump(2);
    EXPECT_TRUE(detail["pseudo_tls"]["server"].get<bool>());
    EXPECT_EQ(detail["allocation"]["relayed"], "198.51.100.20:50000");
    // The server saw the client at its own address (the bridge is transparent).
    EXPECT_EQ(detail["allocation"]["reflexive"].get<std::string>().rfind("192.0.2.1:", 0), 0u);
    EXPECT_EQ(detail["allocation"]["lifetime"], 600);
    EXPECT_EQ(detail["ms_version"], 2);
    EXPECT_EQ(detail["missing_magic_cookie"], 0);
    EXPECT_EQ(detail["errors"], 0);
    EXPECT_EQ(detail["peers"]["203.0.113.9:3480"]["bytes_to_peer"], bytes);
    EXPECT_EQ(detail["peers"]["203.0.113.9:3480"]["bytes_from_peer"], bytes);
    EXPECT_NE((*inspector)->brief().find("alloc=198.51.100.20:50000 lifetime=600"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace wb::test
