// Bytes through the relay on loopback (in a private netns): large transfers both ways, half-close,
// reset propagation, backpressure, many concurrent connections.
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "agent/relay/listener.h"
#include "tests/relay/relay_fixture.h"
#include "tests/support/process.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kLarge = 48ull << 20;

// Server: reads the whole request until the client's FIN, then answers `reply` bytes.
struct RequestThenReply {
  std::uint64_t reply;
  std::uint32_t seed;
  Checksum received;
  std::atomic<bool> saw_eof{false};
  void operator()(int fd) {
    saw_eof = drain(fd, received) == 0;
    send_pattern(fd, reply, seed);
  }
};

// Tests run on both the copy path (every byte through the handler) and the splice path
// (PlainRelayHandler's relay_untouched()).
class RelayPathTest : public RelayTest {
 protected:
  void large_transfer_both_ways(bool untouched);
  void slow_reader_keeps_memory_bounded(bool untouched);
  void client_reset_reaches_server(std::uint64_t bytes);
};

void RelayPathTest::large_transfer_both_ways(bool untouched) {
  auto server_side = std::make_shared<RequestThenReply>();
  server_side->reply = kLarge;
  server_side->seed = 7;
  TestServer server([server_side](int fd) { (*server_side)(fd); });
  start_relay(server.address(), {}, relay::plain_relay_factory(untouched));

  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  Checksum sent;
  ASSERT_TRUE(send_pattern(client.get(), kLarge, 3, &sent));
  // Half-close: the client is done writing but must still receive the whole reply.
  ASSERT_EQ(::shutdown(client.get(), SHUT_WR), 0);
  Checksum got;
  EXPECT_EQ(drain(client.get(), got), 0);

  Checksum expected;
  std::vector<std::uint8_t> block(1 << 16);
  for (std::uint64_t off = 0; off < kLarge; off += block.size()) {
    fill_pattern(block.data(), block.size(), off, 7);
    expected.add(block.data(), block.size());
  }
  EXPECT_EQ(got.bytes(), kLarge);
  EXPECT_EQ(got.value(), expected.value());
  ASSERT_TRUE(eventually([&] { return server_side->saw_eof.load(); }, 10s));
  EXPECT_EQ(server_side->received.bytes(), kLarge);
  EXPECT_EQ(server_side->received.value(), sent.value());

  ASSERT_TRUE(eventually([&] { return relay_->stats().closed == 1; }, 10s));
  const auto stats = relay_->stats();
  EXPECT_EQ(stats.bytes_from_client, kLarge);
  EXPECT_EQ(stats.bytes_from_server, kLarge);
  EXPECT_EQ(stats.active, 0u);
  EXPECT_EQ(stats.queued_bytes, 0u);
  EXPECT_EQ(table_->active(), 0u);
  // Which path moved the bulk: splice when untouched (all but the first buffers), else none.
  if (untouched) {
    EXPECT_GT(stats.bytes_spliced, kLarge);
  } else {
    EXPECT_EQ(stats.bytes_spliced, 0u);
  }
}

TEST_F(RelayPathTest, LargeTransferBothWaysArrivesIntactWithHalfCloseCopyPath) {
  large_transfer_both_ways(/*untouched=*/false);
}

TEST_F(RelayPathTest, LargeTransferBothWaysArrivesIntactWithHalfCloseSplicePath) {
  large_transfer_both_ways(/*untouched=*/true);
}

TEST_F(RelayTest, ServerFinKeepsClientToServerDirectionOpen) {
  // The server says hello and half-closes first; the client keeps sending afterwards.
  Checksum server_got;
  std::atomic<bool> server_done{false};
  TestServer server([&](int fd) {
    write_all(fd, "hello", 5);
    ::shutdown(fd, SHUT_WR);
    drain(fd, server_got);
    server_done = true;
  });
  start_relay(server.address());
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  set_timeouts(client.get(), 10'000);
  Checksum hello;
  EXPECT_EQ(drain(client.get(), hello), 0);  // FIN from the server arrives
  EXPECT_EQ(hello.bytes(), 5u);
  Checksum sent;
  ASSERT_TRUE(send_pattern(client.get(), 1 << 20, 11, &sent));  // still flows after the FIN
  ::shutdown(client.get(), SHUT_WR);
  ASSERT_TRUE(eventually([&] { return server_done.load(); }, 10s));
  EXPECT_EQ(server_got.bytes(), sent.bytes());
  EXPECT_EQ(server_got.value(), sent.value());
}

// The client sends `bytes` and then resets: the server, still reading, must see the reset, not
// a clean EOF. Bulk (more than a receive buffer) puts the client's direction on the splice path.
void RelayPathTest::client_reset_reaches_server(std::uint64_t bytes) {
  std::atomic<int> server_result{1};
  TestServer server([&](int fd) {
    Checksum sum;
    server_result = drain(fd, sum);
  });
  start_relay(server.address());
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  ASSERT_TRUE(send_pattern(client.get(), bytes, 13));
  ASSERT_TRUE(eventually([&] { return relay_->stats().bytes_from_client == bytes; }, 10s));
  if (bytes > config_.buffer_size) {
    EXPECT_GT(relay_->stats().bytes_spliced, 0u);
  }
  relay::set_reset_on_close(client.get());
  client.reset();
  ASSERT_TRUE(eventually([&] { return server_result.load() != 1; }, 10s));
  EXPECT_EQ(server_result.load(), -ECONNRESET);  // not a clean EOF
  ASSERT_TRUE(eventually([&] { return table_->active() == 0; }, 5s));
}

TEST_F(RelayPathTest, ClientResetIsPropagatedToServer) {
  client_reset_reaches_server(3);
}

TEST_F(RelayPathTest, ClientResetDuringASplicedBulkTransferIsPropagatedToServer) {
  client_reset_reaches_server(8 << 20);
}

TEST_F(RelayTest, ServerResetIsPropagatedToClient) {
  TestServer server([&](int fd) {
    write_all(fd, "x", 1);
    std::this_thread::sleep_for(100ms);
    relay::set_reset_on_close(fd);  // the handler's return closes it: RST
  });
  start_relay(server.address());
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  Checksum sum;
  EXPECT_EQ(drain(client.get(), sum, 10'000), -ECONNRESET);
  ASSERT_TRUE(eventually([&] { return table_->active() == 0; }, 5s));
}

// The server pushes 128 MiB; the client reads nothing for a while. The relay must stop reading
// the server instead of buffering: its queues stay near the high watermark (copy path) or the
// pipe bounds what it read ahead (splice path), and the server ends up blocked with most of the
// data still unsent.
void RelayPathTest::slow_reader_keeps_memory_bounded(bool untouched) {
  constexpr std::uint64_t kPush = 128ull << 20;
  std::atomic<std::uint64_t> pushed{0};
  Checksum server_sent;
  std::atomic<bool> server_done{false};
  TestServer server([&](int fd) {
    std::vector<std::uint8_t> block(1 << 16);
    for (std::uint64_t off = 0; off < kPush; off += block.size()) {
      fill_pattern(block.data(), block.size(), off, 5);
      if (!write_all(fd, block.data(), block.size())) break;
      server_sent.add(block.data(), block.size());
      pushed += block.size();
    }
    server_done = true;
  });
  start_relay(
      server.address(),
      [](relay::RelayConfig& config) {
        config.buffer_count = 64;  // 64 x 16 KiB = 1 MiB ring: the bound on one batch of receives
        config.buffer_size = 16 * 1024;
        config.queues = {256 * 1024, 64 * 1024, 256 * 1024 + 64 * 16 * 1024};
      },
      relay::plain_relay_factory(untouched));
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  int small = 64 * 1024;  // keep the client's own receive buffer small and fixed
  setsockopt(client.get(), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));

  // Wait until the flow has stalled: `pushed` has not moved for 500 ms (socket buffers on both
  // sides of the relay fill first: a few MiB that the kernel, not the relay, holds).
  std::uint64_t last = 0;
  auto last_change = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually(
      [&] {
        const std::uint64_t now = pushed.load();
        if (now != last) {
          last = now;
          last_change = std::chrono::steady_clock::now();
        }
        return now > 0 && std::chrono::steady_clock::now() - last_change > 500ms;
      },
      30s));
  const auto stalled = relay_->stats();
  std::this_thread::sleep_for(500ms);
  const auto stats = relay_->stats();
  EXPECT_LT(pushed.load(), kPush / 2) << "the relay kept reading a server nobody reads from";
  EXPECT_EQ(stats.bytes_from_server, stalled.bytes_from_server) << "still reading while paused";
  EXPECT_EQ(stats.queued_bytes, stalled.queued_bytes);
  // At most one batch of receives (the whole ring) lands above the high watermark.
  const std::size_t ring = std::size_t{config_.buffer_count} * config_.buffer_size;
  EXPECT_LE(stats.max_queued_bytes, config_.queues.high_watermark + ring);
  if (untouched) {
    // The first batch of receives went to the queue (same bound as above), the rest through
    // the pipe, which bounds the read-ahead by itself: still paused, nothing more spliced.
    EXPECT_GT(stats.bytes_spliced, 0u);
    EXPECT_EQ(stats.bytes_spliced, stalled.bytes_spliced);
  } else {
    EXPECT_EQ(stats.bytes_spliced, 0u);
    EXPECT_GE(stats.max_queued_bytes, config_.queues.high_watermark);  // it did fill up
  }

  // Now read everything: the flow resumes and the bytes are intact.
  Checksum got;
  EXPECT_EQ(drain(client.get(), got, 30'000), 0);
  EXPECT_TRUE(server_done.load());
  EXPECT_EQ(got.bytes(), kPush);
  EXPECT_EQ(got.value(), server_sent.value());
  if (untouched) {
    EXPECT_GT(relay_->stats().bytes_spliced, kPush / 2);
  }
}

TEST_F(RelayPathTest, SlowReaderKeepsQueuesBoundedOnTheCopyPath) {
  slow_reader_keeps_memory_bounded(/*untouched=*/false);
}

TEST_F(RelayPathTest, SlowReaderKeepsTheSplicePathBounded) {
  slow_reader_keeps_memory_bounded(/*untouched=*/true);
}

TEST_F(RelayTest, FiveHundredConcurrentConnectionsComplete) {
  TestServer server([](int fd) {  // echo until EOF
    std::uint8_t buffer[4096];
    while (true) {
      const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0 || !write_all(fd, buffer, static_cast<std::size_t>(n))) return;
    }
  });
  start_relay(server.address());
  constexpr int kConnections = 500;
  std::vector<UniqueFd> clients;
  for (int i = 0; i < kConnections; ++i) {  // all open at once before any finishes
    clients.push_back(connect_to(relay_address()));
    ASSERT_TRUE(clients.back()) << "connection " << i;
    set_timeouts(clients.back().get(), 30'000);
  }
  ASSERT_TRUE(eventually([&] { return server.accepted() == kConnections; }, 30s));
  EXPECT_EQ(table_->active(), static_cast<std::size_t>(kConnections));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kConnections; i += 4) {
        std::uint8_t message[1024];
        fill_pattern(message, sizeof(message), 0, static_cast<std::uint32_t>(i));
        if (!write_all(clients[i].get(), message, sizeof(message))) continue;
        ::shutdown(clients[i].get(), SHUT_WR);
        Checksum want;
        want.add(message, sizeof(message));
        Checksum got;
        if (drain(clients[i].get(), got) == 0 && got.value() == want.value()) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), kConnections);
  ASSERT_TRUE(eventually([&] { return relay_->stats().closed == kConnections; }, 20s));
  EXPECT_EQ(relay_->stats().accepted, static_cast<std::uint64_t>(kConnections));
}

}  // namespace
}  // namespace wb::test
