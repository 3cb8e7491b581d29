// The upstream's source port (the daemon binds the client's own port): when it is still held by
// one of our sockets the session falls back to a kernel-chosen port instead of failing, and a
// reconnect (tunnel on error) can bind the same port again because the dropped upstream is
// closed synchronously.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "agent/relay/listener.h"
#include "tests/relay/relay_fixture.h"
#include "tests/support/process.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;

// A free local port, found by binding port 0 and closing again.
std::uint16_t free_port() {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  auto any = session::Endpoint::loopback_v4(0);
  bind(fd.get(), any.sockaddr_ptr(), any.length());
  return relay::local_address(fd.get()).value().port();
}

// Upstream to `server` from 127.0.0.1:`port`, as the daemon binds the client's own port.
relay::UpstreamResolver from_port(session::Endpoint server, std::uint16_t port) {
  return [=](const relay::ConnectionInfo&) -> Result<relay::UpstreamPlan> {
    return relay::UpstreamPlan{server, session::Endpoint::loopback_v4(port), false};
  };
}

// Answers "ok" to the first bytes and closes first, so that the relay's upstream socket is the
// passive closer and leaves no TIME_WAIT on the port (the next session may bind it again).
void answer_ok(int fd) {
  char buffer[64];
  if (::read(fd, buffer, sizeof(buffer)) > 0) write_all(fd, "ok", 2);
}

// Sends "hi" and returns what came back until EOF.
std::string exchange(const session::Endpoint& relay) {
  UniqueFd client = connect_to(relay);
  if (!client) return "connect failed";
  set_timeouts(client.get(), 5000);
  if (!write_all(client.get(), "hi", 2)) return "write failed";
  std::string got;
  char buffer[64];
  ssize_t n = 0;
  while ((n = ::read(client.get(), buffer, sizeof(buffer))) > 0) got.append(buffer, n);
  return n == 0 ? got : got + " (error)";
}

TEST_F(RelayTest, UpstreamFallsBackToAKernelPortWhenTheClientPortIsHeld) {
  TestServer server(answer_ok);
  const std::uint16_t port = free_port();
  UniqueFd holder(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));  // holds 127.0.0.1:port
  auto held = session::Endpoint::loopback_v4(port);
  ASSERT_EQ(bind(holder.get(), held.sockaddr_ptr(), held.length()), 0);
  start_relay(server.address(), [&](relay::RelayConfig& config) {
    config.upstream = from_port(server.address(), port);
  });
  EXPECT_EQ(exchange(relay_address()), "ok");
  ASSERT_EQ(server.peers().size(), 1u);
  EXPECT_NE(server.peers()[0].port(), port);
  EXPECT_EQ(relay_->stats().upstream_port_fallback, 1u);
  EXPECT_EQ(relay_->stats().upstream_failed, 0u);

  holder.reset();  // the port is free again once the session is gone: the next one uses it
  ASSERT_TRUE(eventually([&] { return table_->active() == 0; }, 5s));
  EXPECT_EQ(exchange(relay_address()), "ok");
  ASSERT_EQ(server.peers().size(), 2u);
  EXPECT_EQ(server.peers()[1].port(), port);
  EXPECT_EQ(relay_->stats().upstream_port_fallback, 1u);
}

// Connects upstream at once, and reconnects (dropping a live upstream) on the first client bytes,
// replaying them to the fresh one.
class ReconnectOnFirstBytes : public relay::PlainRelayHandler {
 public:
  ReconnectOnFirstBytes() : PlainRelayHandler("reconnect", /*untouched=*/false) {}
  void on_data(relay::SessionIo& io, relay::Side from,
               std::span<const std::uint8_t> bytes) override {
    if (from == relay::Side::kClient && !reconnected_) {
      reconnected_ = true;
      if (!io.reconnect_upstream().ok()) return io.close(relay::CloseMode::kReset, "reconnect");
    }
    PlainRelayHandler::on_data(io, from, bytes);
  }

 private:
  bool reconnected_ = false;
};

TEST_F(RelayTest, ReconnectRebindsTheSamePortBecauseTheDroppedUpstreamIsClosedAtOnce) {
  TestServer server(answer_ok);
  const std::uint16_t port = free_port();
  start_relay(
      server.address(),
      [&](relay::RelayConfig& config) { config.upstream = from_port(server.address(), port); },
      [](const relay::ConnectionInfo&) -> std::unique_ptr<relay::Handler> {
        return std::make_unique<ReconnectOnFirstBytes>();
      });
  for (int round = 0; round < 5; ++round) {
    // The first upstream is established before the client's bytes arrive.
    UniqueFd client = connect_to(relay_address());
    ASSERT_TRUE(client);
    set_timeouts(client.get(), 5000);
    ASSERT_TRUE(eventually([&] { return server.accepted() == 2 * round + 1; }, 5s)) << round;
    ASSERT_TRUE(write_all(client.get(), "hi", 2));
    char buffer[8] = {};
    EXPECT_EQ(::read(client.get(), buffer, sizeof(buffer)), 2) << round;
    EXPECT_EQ(std::string(buffer, 2), "ok");
    client.reset();
    ASSERT_TRUE(eventually([&] { return table_->active() == 0; }, 5s));
  }
  // Both upstreams of every round came from the same port: no fallback was needed.
  for (const auto& peer : server.peers()) EXPECT_EQ(peer.port(), port);
  EXPECT_EQ(relay_->stats().upstream_port_fallback, 0u);
  EXPECT_EQ(relay_->stats().upstream_failed, 0u);
}

}  // namespace
}  // namespace wb::test
