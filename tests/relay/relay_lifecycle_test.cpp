// Connection life cycle through the relay (private netns): upstream failures and timeouts,
// idle and first-bytes timeouts, the session limit (refuse or tunnel), clean stop with
// connections open, and the handler interface itself (reconnect + replay, close summaries).
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "agent/relay/listener.h"
#include "tests/relay/relay_fixture.h"
#include "tests/support/process.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;

// Reads until EOF/error with a deadline; returns 0 for EOF, -errno otherwise.
int wait_closed(int fd, int timeout_ms = 10'000) {
  Checksum ignored;
  return drain(fd, ignored, timeout_ms);
}

// A port nobody listens on (bound, never listening: connect gets RST).
session::Endpoint dead_port(UniqueFd& holder) {
  holder.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  auto any = session::Endpoint::loopback_v4(0);
  bind(holder.get(), any.sockaddr_ptr(), any.length());
  return relay::local_address(holder.get()).value();
}

TEST_F(RelayTest, UpstreamRefusedResetsTheClient) {
  UniqueFd holder;
  start_relay(dead_port(holder));
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  EXPECT_EQ(wait_closed(client.get()), -ECONNRESET);
  ASSERT_TRUE(eventually([&] { return relay_->stats().upstream_failed == 1; }, 5s));
  ASSERT_TRUE(eventually([&] { return table_->active() == 0; }, 5s));
}

TEST_F(RelayTest, UpstreamConnectTimeoutClosesTheClient) {
  // nft drops the SYNs to a listening port (in this private netns only): the connect hangs until
  // the relay's link timeout fires.
  TestServer server([](int) {});
  const auto port = std::to_string(server.address().port());
  const auto rule =
      run("nft add table ip wbt && nft add chain ip wbt in "
          "'{ type filter hook input priority 0; }' && nft add rule ip wbt in "
          "tcp dport " +
          port + " tcp flags syn drop");
  ASSERT_EQ(rule.exit_code, 0) << rule.err;
  start_relay(server.address(),
              [](relay::RelayConfig& config) { config.timeouts.connect = 300ms; });
  const auto begin = std::chrono::steady_clock::now();
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  EXPECT_EQ(wait_closed(client.get()), -ECONNRESET);
  const auto waited = std::chrono::steady_clock::now() - begin;
  EXPECT_GE(waited, 250ms);  // not refused at once: it was the timeout
  EXPECT_LT(waited, 3s);
  EXPECT_EQ(relay_->stats().upstream_failed, 1u);
  EXPECT_EQ(server.accepted(), 0);
  run("nft delete table ip wbt");
}

TEST_F(RelayTest, IdleSessionIsClosedAfterIdleTimeout) {
  std::atomic<int> server_result{1};
  TestServer server([&](int fd) { server_result = wait_closed(fd, 10'000); });
  start_relay(server.address(), [](relay::RelayConfig& config) { config.timeouts.idle = 300ms; });
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  ASSERT_TRUE(write_all(client.get(), "ping", 4));  // activity, then silence
  const auto begin = std::chrono::steady_clock::now();
  EXPECT_NE(wait_closed(client.get()), -ETIMEDOUT);
  EXPECT_GE(std::chrono::steady_clock::now() - begin, 250ms);
  ASSERT_TRUE(eventually([&] { return server_result.load() != 1; }, 5s));
  ASSERT_TRUE(eventually([&] { return table_->active() == 0; }, 5s));
  EXPECT_EQ(relay_->stats().closed, 1u);
}

// A handler in the style of a TLS peek: waits for the client's first bytes before connecting.
class PeekFirstHandler : public relay::Handler {
 public:
  explicit PeekFirstHandler(std::vector<std::string>* closes, std::mutex* mutex)
      : closes_(closes), mutex_(mutex) {}
  void on_start(relay::SessionIo& io) override {
    io.set_protocol(session::Protocol::kUnknown);
    io.set_verdict(session::Verdict::kPending, "waiting for first bytes");
  }
  void on_data(relay::SessionIo& io, relay::Side from,
               std::span<const std::uint8_t> bytes) override {
    if (from == relay::Side::kClient && !io.upstream_connected() && first_.empty()) {
      first_.assign(bytes.begin(), bytes.end());
      io.set_protocol(session::Protocol::kHttp);
      io.set_sni("peek.example");
      io.set_verdict(session::Verdict::kRelay, "peeked");
      io.set_inspection("first " + std::to_string(bytes.size()), {{"bytes", bytes.size()}});
      (void)io.connect_upstream();
    }
    (void)io.send(relay::other(from), bytes);
  }
  void on_eof(relay::SessionIo& io, relay::Side from) override {
    io.shutdown_write(relay::other(from));
  }
  void on_upstream_connected(relay::SessionIo&) override {}
  void on_upstream_failed(relay::SessionIo& io, const Error& error) override {
    // Tunnel-on-error style: one fresh attempt, replaying what the client sent first.
    if (attempts_++ == 0 && io.reconnect_upstream().ok() &&
        io.send(relay::Side::kServer, first_).ok()) {
      return;
    }
    io.close(relay::CloseMode::kReset, "gave up: " + error.message());
  }
  void on_timeout(relay::SessionIo& io, relay::TimeoutKind kind) override {
    io.close(relay::CloseMode::kGraceful, relay::label(kind));
  }
  void on_close(const relay::CloseSummary& summary) override {
    std::lock_guard lock(*mutex_);
    closes_->push_back(summary.reason);
  }

 private:
  std::vector<std::string>* closes_;
  std::mutex* mutex_;
  std::vector<std::uint8_t> first_;
  int attempts_ = 0;
};

TEST_F(RelayTest, FirstBytesTimeoutReachesTheHandler) {
  std::vector<std::string> closes;
  std::mutex mutex;
  TestServer server([](int) {});
  start_relay(
      server.address(), [](relay::RelayConfig& config) { config.timeouts.first_bytes = 200ms; },
      [&](const relay::ConnectionInfo&) -> std::unique_ptr<relay::Handler> {
        return std::make_unique<PeekFirstHandler>(&closes, &mutex);
      });
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  ASSERT_TRUE(eventually([&] { return table_->active() == 1; }, 5s));
  EXPECT_EQ(table_->snapshot().at(0).verdict, session::Verdict::kPending);
  EXPECT_EQ(wait_closed(client.get()), 0);  // graceful: FIN
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard l(mutex);
        return closes.size() == 1;
      },
      5s));
  EXPECT_EQ(closes.at(0), "first-bytes timeout");
  EXPECT_EQ(server.accepted(), 0);  // never connected upstream
}

// Relays like the plain handler; optionally arms its own phase timer at start.
class TimedRelayHandler : public relay::PlainRelayHandler {
 public:
  explicit TimedRelayHandler(std::chrono::milliseconds phase) : phase_(phase) {}
  void on_start(relay::SessionIo& io) override {
    (void)io.connect_upstream();
    if (phase_.count() > 0) io.set_first_bytes_timeout(phase_);
  }
  void on_timeout(relay::SessionIo& io, relay::TimeoutKind kind) override {
    io.close(relay::CloseMode::kReset, "phase timer: " + std::string(relay::label(kind)));
  }

 private:
  std::chrono::milliseconds phase_;
};

TEST_F(RelayTest, FirstClientByteDisarmsTheRelaysTimerButNotTheHandlers) {
  TestServer server([](int fd) {  // echo
    std::uint8_t buffer[256];
    ssize_t n;
    while ((n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0) {
      write_all(fd, buffer, static_cast<std::size_t>(n));
    }
  });
  for (const bool handler_timer : {false, true}) {
    SCOPED_TRACE(handler_timer ? "handler's timer" : "relay's timer");
    start_relay(
        server.address(), [](relay::RelayConfig& config) { config.timeouts.first_bytes = 200ms; },
        [handler_timer](const relay::ConnectionInfo&) -> std::unique_ptr<relay::Handler> {
          return std::make_unique<TimedRelayHandler>(handler_timer ? 200ms : 0ms);
        });
    UniqueFd client = connect_to(relay_address());
    ASSERT_TRUE(client);
    set_timeouts(client.get(), 5'000);
    // Keep talking for 600 ms: three times the timeout.
    bool alive = true;
    for (int i = 0; i < 6 && alive; ++i) {
      char byte = 'x';
      alive = ::send(client.get(), &byte, 1, MSG_NOSIGNAL) == 1 &&
              ::recv(client.get(), &byte, 1, 0) == 1;
      std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(alive, !handler_timer);
    relay_->stop();
  }
}

TEST_F(RelayTest, HandlerCanReconnectUpstreamAndReplayFirstBytes) {
  std::vector<std::string> closes;
  std::mutex mutex;
  Checksum server_got;
  std::atomic<bool> server_done{false};
  TestServer server([&](int fd) {
    server_done = drain(fd, server_got) == 0;
    write_all(fd, "answer", 6);
  });
  UniqueFd holder;
  const auto dead = dead_port(holder);
  auto attempts = std::make_shared<std::atomic<int>>(0);
  const auto live = server.address();
  start_relay(
      live,
      [&, attempts](relay::RelayConfig& config) {
        config.upstream = [=](const relay::ConnectionInfo&) -> Result<relay::UpstreamPlan> {
          return relay::UpstreamPlan{(*attempts)++ == 0 ? dead : live, {}, false};
        };
      },
      [&](const relay::ConnectionInfo&) -> std::unique_ptr<relay::Handler> {
        return std::make_unique<PeekFirstHandler>(&closes, &mutex);
      });
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  ASSERT_TRUE(write_all(client.get(), "hello-first-bytes", 17));
  ASSERT_TRUE(eventually([&] { return server.accepted() == 1; }, 5s));
  ::shutdown(client.get(), SHUT_WR);
  Checksum reply;
  EXPECT_EQ(drain(client.get(), reply), 0);
  EXPECT_EQ(reply.bytes(), 6u);
  EXPECT_TRUE(server_done.load());
  EXPECT_EQ(server_got.bytes(), 17u);  // the first bytes were replayed to the fresh upstream
  EXPECT_EQ(attempts->load(), 2);
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard l(mutex);
        return closes.size() == 1;
      },
      5s));
}

TEST_F(RelayTest, SessionTableShowsWhatTheHandlerSet) {
  std::vector<std::string> closes;
  std::mutex mutex;
  TestServer server([](int fd) { wait_closed(fd); });
  start_relay(server.address(), {},
              [&](const relay::ConnectionInfo&) -> std::unique_ptr<relay::Handler> {
                return std::make_unique<PeekFirstHandler>(&closes, &mutex);
              });
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(write_all(client.get(), "GET / HTTP/1.1\r\n", 16));
  ASSERT_TRUE(eventually([&] { return server.accepted() == 1; }, 5s));
  ASSERT_TRUE(eventually(
      [&] {
        const auto records = table_->snapshot({session::Protocol::kHttp});
        return records.size() == 1 && records[0].state == session::State::kEstablished;
      },
      5s));
  const auto record = table_->snapshot({session::Protocol::kHttp}).at(0);
  EXPECT_EQ(record.sni, "peek.example");
  EXPECT_EQ(record.reason, "peeked");
  EXPECT_EQ(record.bytes_from_client, 16u);
  EXPECT_EQ(record.inspector_brief, "first 16");
  EXPECT_EQ(record.client, relay::local_address(client.get()).value());
  EXPECT_EQ(record.server, relay_address());  // no steering here: the listener itself
  EXPECT_TRUE(table_->snapshot({session::Protocol::kSips}).empty());
  relay_->stop();  // now: on_close writes to `closes`, which dies with this scope
}

TEST_F(RelayTest, SessionLimitRefusesAndCounts) {
  TestServer server([](int fd) { wait_closed(fd); });
  start_relay(server.address(), {}, relay::plain_relay_factory(), /*max_sessions=*/2);
  UniqueFd a = connect_to(relay_address());
  UniqueFd b = connect_to(relay_address());
  ASSERT_TRUE(eventually([&] { return server.accepted() == 2; }, 5s));
  UniqueFd c = connect_to(relay_address());
  ASSERT_TRUE(c);
  EXPECT_EQ(wait_closed(c.get()), -ECONNRESET);
  EXPECT_EQ(table_->refused(), 1u);
  EXPECT_EQ(relay_->stats().refused, 1u);
  EXPECT_EQ(table_->active(), 2u);
  EXPECT_EQ(server.accepted(), 2);
  a.reset();  // a slot frees up: the next connection is admitted again
  ASSERT_TRUE(eventually([&] { return table_->active() == 1; }, 5s));
  UniqueFd d = connect_to(relay_address());
  ASSERT_TRUE(eventually([&] { return server.accepted() == 3; }, 5s));
}

// Relays bytes, but ends the whole session gracefully as soon as the server sent FIN (as the
// interception handler does once both sides finished), with the reply still queued.
class CloseOnServerEof : public relay::PlainRelayHandler {
 public:
  CloseOnServerEof() : PlainRelayHandler("close on eof", /*untouched=*/false) {}
  void on_eof(relay::SessionIo& io, relay::Side from) override {
    if (from == relay::Side::kServer) return io.close(relay::CloseMode::kGraceful, "done");
    PlainRelayHandler::on_eof(io, from);
  }
};

TEST_F(RelayTest, GracefulCloseSendsEverythingQueuedBeforeTheFin) {
  constexpr std::uint64_t kReply = 4 << 20;  // many queue chunks
  Checksum sent;
  TestServer server([&](int fd) { send_pattern(fd, kReply, 21, &sent); });
  start_relay(
      server.address(),
      [](relay::RelayConfig& config) {
        // No backpressure pause: the server's FIN is read while the whole reply is queued.
        config.queues = {8 << 20, 64 << 10, 16 << 20};
      },
      [](const relay::ConnectionInfo&) -> std::unique_ptr<relay::Handler> {
        return std::make_unique<CloseOnServerEof>();
      });
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  int small = 64 * 1024;  // the reply piles up in the relay's queue while we do not read
  setsockopt(client.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  ASSERT_TRUE(eventually([&] { return relay_->stats().bytes_from_server == kReply; }, 10s));
  EXPECT_GT(relay_->stats().queued_bytes, 2u * 64 * 1024);  // more than one chunk waits
  Checksum got;
  EXPECT_EQ(drain(client.get(), got, 10'000), 0);  // everything, then a clean FIN
  EXPECT_EQ(got.bytes(), kReply);
  EXPECT_EQ(got.value(), sent.value());
}

// A connection to the relay from another loopback address (127.0.0.0/8 is all local).
UniqueFd connect_from(const char* source, const session::Endpoint& to) {
  UniqueFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const auto from = session::Endpoint::parse(std::string(source) + ":0").value();
  if (bind(fd.get(), from.sockaddr_ptr(), from.length()) != 0) return {};
  if (connect(fd.get(), to.sockaddr_ptr(), to.length()) != 0) return {};
  return fd;
}

TEST_F(RelayTest, PerClientLimitRefusesOnlyThatClientAndCountsApart) {
  TestServer server([](int fd) { wait_closed(fd); });
  start_relay(server.address(), {}, relay::plain_relay_factory(), /*max_sessions=*/100,
              /*max_per_client=*/2);
  UniqueFd a = connect_from("127.0.0.1", relay_address());
  UniqueFd b = connect_from("127.0.0.1", relay_address());
  ASSERT_TRUE(eventually([&] { return server.accepted() == 2; }, 5s));
  UniqueFd c = connect_from("127.0.0.1", relay_address());
  ASSERT_TRUE(c);
  EXPECT_EQ(wait_closed(c.get()), -ECONNRESET);
  EXPECT_EQ(table_->refused_per_client(), 1u);
  EXPECT_EQ(table_->refused(), 0u);
  EXPECT_EQ(relay_->stats().refused, 1u);
  // Another client address still gets its own two.
  UniqueFd d = connect_from("127.0.0.2", relay_address());
  UniqueFd e = connect_from("127.0.0.2", relay_address());
  ASSERT_TRUE(eventually([&] { return server.accepted() == 4; }, 5s));
  EXPECT_EQ(table_->active(), 4u);
  a.reset();  // the first client's place frees up
  ASSERT_TRUE(eventually([&] { return table_->active() == 3; }, 5s));
  UniqueFd f = connect_from("127.0.0.1", relay_address());
  ASSERT_TRUE(eventually([&] { return server.accepted() == 5; }, 5s));
  EXPECT_EQ(table_->refused_per_client(), 1u);
}

TEST_F(RelayTest, SessionLimitCanTunnelInsteadOfRefusing) {
  TestServer server([](int fd) {  // echo
    std::uint8_t buffer[256];
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) write_all(fd, buffer, static_cast<std::size_t>(n));
  });
  start_relay(
      server.address(),
      [](relay::RelayConfig& config) { config.overflow = relay::OverflowAction::kTunnel; },
      relay::plain_relay_factory(), /*max_sessions=*/1);
  UniqueFd a = connect_to(relay_address());
  ASSERT_TRUE(eventually([&] { return table_->active() == 1; }, 5s));
  UniqueFd b = connect_to(relay_address());
  ASSERT_TRUE(write_all(b.get(), "over", 4));
  char reply[4] = {};
  set_timeouts(b.get(), 5'000);
  EXPECT_EQ(::recv(b.get(), reply, sizeof(reply), MSG_WAITALL), 4);
  EXPECT_EQ(std::string(reply, 4), "over");
  EXPECT_EQ(relay_->stats().overflow_tunnelled, 1u);
  EXPECT_EQ(table_->active(), 1u);  // the tunnelled one is not in the table
  EXPECT_EQ(table_->refused(), 1u);
}

TEST_F(RelayTest, StopClosesOpenSessionsAndJoins) {
  TestServer server([](int fd) { wait_closed(fd); });
  start_relay(server.address());
  std::vector<UniqueFd> clients;
  for (int i = 0; i < 20; ++i) clients.push_back(connect_to(relay_address()));
  ASSERT_TRUE(eventually([&] { return server.accepted() == 20; }, 10s));
  const auto begin = std::chrono::steady_clock::now();
  relay_->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 3s);
  EXPECT_EQ(table_->active(), 0u);
  EXPECT_EQ(relay_->stats().active, 0u);
  EXPECT_EQ(relay_->stats().closed, 20u);
  for (auto& client : clients) EXPECT_EQ(wait_closed(client.get(), 5'000), -ECONNRESET);
  // The listener is gone too.
  EXPECT_FALSE(connect_to(relay_address()));
}

TEST_F(RelayTest, StartRejectsBadConfiguration) {
  session::SessionTable table(1);
  relay::RelayConfig config;
  EXPECT_FALSE(relay::Relay::start(config, relay::plain_relay_factory(), table).ok());  // no listen
  config.listen = {session::Endpoint::loopback_v4(0)};
  config.queues = {1024, 2048, 4096};  // low > high
  EXPECT_FALSE(relay::Relay::start(config, relay::plain_relay_factory(), table).ok());
  config.queues = {};
  config.queues.hard_limit = config.queues.high_watermark;  // no room for a receive batch
  EXPECT_FALSE(relay::Relay::start(config, relay::plain_relay_factory(), table).ok());
  config.queues = {};
  config.buffer_count = 100;  // not a power of two
  EXPECT_FALSE(relay::Relay::start(config, relay::plain_relay_factory(), table).ok());
}

}  // namespace
}  // namespace wb::test
