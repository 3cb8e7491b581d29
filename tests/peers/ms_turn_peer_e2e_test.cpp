// The MS-TURN test peer end to end in a netns topology (client -> plain bridge -> server), and a
// real peer-to-peer run relayed through the TURN inspector: both directions of the live byte
// stream are fed to it and the allocation and the media byte counts must match what was sent.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>

#include "agent/common/unique_fd.h"
#include "inspectors/factory.h"
#include "tests/support/topology.h"

namespace wb::test {
namespace {

std::string peer_binary() {
  return binary_path("tests/peers/wb_ms_turn_peer");
}

bool listening(const Topology& topo, const std::string& ns, int port) {
  return topo.exec(ns, "ss -Hltn sport = :" + std::to_string(port) + " | grep -q LISTEN")
             .exit_code == 0;
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

// Relays one TCP connection between `accepted` and `upstream`, feeding the inspector.
void relay(int client, int upstream, inspect::Inspector& inspector, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  std::array<bool, 2> open = {true, true};
  std::array<std::uint8_t, 16384> buffer{};
  while ((open[0] || open[1]) && std::chrono::steady_clock::now() < deadline) {
    pollfd fds[2] = {{client, static_cast<short>(open[0] ? POLLIN : 0), 0},
                     {upstream, static_cast<short>(open[1] ? POLLIN : 0), 0}};
    if (poll(fds, 2, 200) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buffer.data(), buffer.size());
      auto direction =
          i == 0 ? inspect::Direction::kClientToServer : inspect::Direction::kServerToClient;
      int to = i == 0 ? upstream : client;
      if (n <= 0) {
        open[i] = false;
        inspector.on_close(direction);
        shutdown(to, SHUT_WR);
        continue;
      }
      std::span<const std::uint8_t> bytes(buffer.data(), static_cast<std::size_t>(n));
      EXPECT_FALSE(inspector.on_data(direction, bytes).denied());
      while (!bytes.empty()) {
        ssize_t w = write(to, bytes.data(), bytes.size());
        if (w <= 0) return;
        bytes = bytes.subspan(static_cast<std::size_t>(w));
      }
    }
  }
}

TEST(MsTurnPeer, LiveRunThroughTheTurnInspector) {
  Topology topo;
  ASSERT_TRUE(topo.ok()) << topo.error();
  Process& server =
      topo.spawn(topo.server(), peer_binary() + " server --listen 192.0.2.2:443", "ms-turn-server");
  ASSERT_TRUE(eventually([&] { return listening(topo, topo.server(), 443); })) << server.log();

  NetnsGuard in_client(topo.client());
  ASSERT_TRUE(in_client.ok());
  UniqueFd listener(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in local{};
  local.sin_family = AF_INET;
  local.sin_port = htons(4443);
  inet_pton(AF_INET, Topology::kClientIp, &local.sin_addr);
  int one = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ASSERT_EQ(bind(listener.get(), reinterpret_cast<sockaddr*>(&local), sizeof local), 0);
  ASSERT_EQ(listen(listener.get(), 1), 0);

  for (bool data_frames : {false, true}) {
    SCOPED_TRACE(data_frames ? "data frames" : "Send/Data indications");
    const std::size_t bytes = data_frames ? 64000 : 120000;
    Process& client =
        topo.spawn(topo.client(),
                   peer_binary() + " client --connect 192.0.2.1:4443 --bytes " +
                       std::to_string(bytes) + (data_frames ? " --data-frames --chunk 1400" : ""),
                   data_frames ? "client-frames" : "client-send");
    pollfd waiting{listener.get(), POLLIN, 0};
    ASSERT_EQ(poll(&waiting, 1, 10000), 1) << client.log();
    UniqueFd accepted(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_GE(accepted.get(), 0);
    UniqueFd upstream(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in remote{};
    remote.sin_family = AF_INET;
    remote.sin_port = htons(443);
    inet_pton(AF_INET, Topology::kServerIp, &remote.sin_addr);
    ASSERT_EQ(connect(upstream.get(), reinterpret_cast<sockaddr*>(&remote), sizeof remote), 0);

    auto inspector = inspect::make_inspector("ms-turn", {});
    ASSERT_TRUE(inspector.ok());
    relay(accepted.get(), upstream.get(), **inspector, std::chrono::seconds(30));
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
