// Waker (agent/relay/handler.h): another thread calls back into a connection's handler on its
// worker thread; posts for a connection that is gone (or a relay that stopped) are dropped and
// never reach the handler after on_close, nor the next connection that takes the same slot.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/relay/relay_fixture.h"
#include "tests/support/process.h"

namespace wb::test {
namespace {

using namespace std::chrono_literals;

// What one connection's handler saw, shared with the test thread.
struct Probe {
  std::atomic<bool> started{false};
  std::atomic<bool> closed{false};
  std::atomic<int> wakes{0};
  std::atomic<int> wakes_after_close{0};
  std::atomic<int> wakes_off_worker{0};
  std::atomic<int> out_of_order{0};
  std::thread::id worker;
  relay::Waker waker;                 // written in on_start, read by the test after `started`
  std::vector<std::uint64_t> tokens;  // worker thread only until the session closed
  std::vector<std::uint32_t> last_seq = std::vector<std::uint32_t>(16, 0);
};

// The plain relay plus: every wake is checked (thread, order, not after close) and echoed to
// the client as "wake:<token>\n".
class WakeProbeHandler : public relay::PlainRelayHandler {
 public:
  explicit WakeProbeHandler(std::shared_ptr<Probe> probe) : probe_(std::move(probe)) {}
  void on_start(relay::SessionIo& io) override {
    probe_->worker = std::this_thread::get_id();
    probe_->waker = io.waker();
    probe_->started = true;
    PlainRelayHandler::on_start(io);
  }
  void on_wake(relay::SessionIo& io, std::uint64_t token) override {
    if (probe_->closed) ++probe_->wakes_after_close;
    if (std::this_thread::get_id() != probe_->worker) ++probe_->wakes_off_worker;
    // token = poster << 32 | sequence (from 1): each poster's tokens arrive in order.
    const auto poster = static_cast<std::size_t>(token >> 32) % probe_->last_seq.size();
    const auto seq = static_cast<std::uint32_t>(token);
    if (seq != 0 && seq <= probe_->last_seq[poster]) ++probe_->out_of_order;
    if (seq != 0) probe_->last_seq[poster] = seq;
    probe_->tokens.push_back(token);
    ++probe_->wakes;
    const std::string line = "wake:" + std::to_string(token) + "\n";
    (void)io.send(relay::Side::kClient,
                  {reinterpret_cast<const std::uint8_t*>(line.data()), line.size()});
  }
  void on_close(const relay::CloseSummary&) override { probe_->closed = true; }

 private:
  std::shared_ptr<Probe> probe_;
};

class WakerTest : public RelayTest {
 protected:
  // One worker relaying to a server that reads everything and never answers.
  void start() {
    start_relay(
        server_.address(), [](relay::RelayConfig& config) { config.workers = 1; },
        [this](const relay::ConnectionInfo&) -> std::unique_ptr<relay::Handler> {
          std::lock_guard lock(mutex_);
          probes_.push_back(std::make_shared<Probe>());
          return std::make_unique<WakeProbeHandler>(probes_.back());
        });
  }
  std::shared_ptr<Probe> probe(std::size_t i) {
    std::lock_guard lock(mutex_);
    return i < probes_.size() ? probes_[i] : nullptr;
  }
  std::shared_ptr<Probe> wait_started(std::size_t i) {
    EXPECT_TRUE(eventually(
        [&] {
          auto p = probe(i);
          return p && p->started;
        },
        5s));
    return probe(i);
  }

  TestServer server_{[](int fd) {
    Checksum ignored;
    drain(fd, ignored);
  }};
  std::mutex mutex_;
  std::vector<std::shared_ptr<Probe>> probes_;
};

// Reads one '\n'-terminated line (bounded by the socket timeout).
std::string read_line(int fd) {
  std::string line;
  char ch = 0;
  while (line.size() < 256 && ::read(fd, &ch, 1) == 1 && ch != '\n') line.push_back(ch);
  return line;
}

TEST_F(WakerTest, PostsFromOtherThreadsRunOnTheWorkerInOrder) {
  start();
  UniqueFd client = connect_to(relay_address());
  ASSERT_TRUE(client);
  set_timeouts(client.get(), 5000);
  auto p = wait_started(0);
  ASSERT_TRUE(p);
  ASSERT_NE(p->worker, std::this_thread::get_id());

  std::thread([waker = p->waker] { waker.post(7); }).join();
  EXPECT_EQ(read_line(client.get()), "wake:7");

  constexpr int kPosters = 4;
  constexpr std::uint32_t kEach = 500;
  std::vector<std::thread> posters;
  for (int t = 1; t <= kPosters; ++t) {
    posters.emplace_back([waker = p->waker, t] {  // a copy per thread
      for (std::uint32_t seq = 1; seq <= kEach; ++seq) {
        waker.post(static_cast<std::uint64_t>(t) << 32 | seq);
      }
    });
  }
  for (auto& thread : posters) thread.join();
  ASSERT_TRUE(eventually([&] { return p->wakes == 1 + kPosters * static_cast<int>(kEach); }, 10s));
  for (int i = 0; i < kPosters * static_cast<int>(kEach); ++i) {
    ASSERT_EQ(read_line(client.get()).rfind("wake:", 0), 0u) << i;
  }
  EXPECT_EQ(p->wakes_off_worker, 0);
  EXPECT_EQ(p->out_of_order, 0);
  EXPECT_EQ(p->wakes_after_close, 0);
}

TEST_F(WakerTest, PostsForAClosedConnectionAreDroppedAndNeverReachTheNextOne) {
  start();
  UniqueFd first = connect_to(relay_address());
  ASSERT_TRUE(first);
  auto p1 = wait_started(0);
  ASSERT_TRUE(p1);

  // A poster hammers the first connection while it closes.
  std::atomic<bool> stop{false};
  std::thread poster([waker = p1->waker, &stop] {
    for (std::uint32_t seq = 1; seq <= 20'000 && !stop; ++seq) waker.post(1ull << 32 | seq);
  });
  first.reset();  // client FIN; the plain relay closes both sides
  ASSERT_TRUE(eventually([&] { return p1->closed.load(); }, 5s));
  stop = true;
  poster.join();
  ASSERT_TRUE(eventually([&] { return table_->active() == 0; }, 5s));
  const int delivered = p1->wakes;

  // One worker: the next connection takes the freed slot (LIFO free list), with a new generation.
  UniqueFd second = connect_to(relay_address());
  ASSERT_TRUE(second);
  set_timeouts(second.get(), 5000);
  auto p2 = wait_started(1);
  ASSERT_TRUE(p2);
  p1->waker.post(1);  // stale: dropped
  p2->waker.post(2);
  EXPECT_EQ(read_line(second.get()), "wake:2");  // the stale post would have come first
  EXPECT_EQ(p2->wakes, 1);
  EXPECT_EQ(p1->wakes, delivered);
  EXPECT_EQ(p1->wakes_after_close, 0);
  EXPECT_EQ(p1->wakes_off_worker, 0);

  // After the relay stopped (on_close ran for the second one) and after it is destroyed, posts
  // are dropped without touching freed memory (ASan build).
  relay_->stop();
  EXPECT_TRUE(p2->closed.load());
  p2->waker.post(3);
  relay_.reset();
  p2->waker.post(4);
  p1->waker.post(5);
  relay::Waker().post(6);  // a default Waker drops every post
  EXPECT_EQ(p2->wakes_after_close, 0);
  EXPECT_EQ(p2->wakes, 1);
}

}  // namespace
}  // namespace wb::test
