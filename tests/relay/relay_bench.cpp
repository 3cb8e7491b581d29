// relay_bench: throughput, connections/s and memory per idle session through the relay on
// loopback, against the same traffic sent directly, measured side by side in one run (medians;
// the machine is noisy). Runs in a private network namespace. Not a test: prints a markdown
// table for docs/benchmarks/relay.md.
//
//   relay_bench [--runs N] [--seconds S] [--bytes MiB] [--idle N] [--workers W]
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "agent/relay/listener.h"
#include "agent/relay/plain_handler.h"
#include "agent/relay/relay.h"
#include "tests/relay/peers.h"
#include "tests/support/process.h"

namespace wb::test {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int runs = 5;
  double seconds = 3;
  std::uint64_t mib = 1024;
  int idle = 10'000;
  unsigned workers = 0;
  unsigned buffer_kib = 32;  // the RelayConfig defaults
  unsigned buffers = 128;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

long status_kib(const char* file, const char* key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::strlen(key)));
  }
  return -1;
}

// A single-threaded epoll server: "sink" drains every connection, "echo" echoes, "hold" keeps
// connections open without reading (idle sessions).
class EpollServer {
 public:
  enum class Mode { kSink, kEcho, kHold };
  explicit EpollServer(Mode mode) : mode_(mode) {
    auto group = relay::open_listeners(session::Endpoint::loopback_v4(0), 1, {false, false, 4096});
    listener_ = std::move(group->fds[0]);
    address_ = group->address;
    thread_ = std::thread([this] { loop(); });
  }
  ~EpollServer() {
    stop_ = true;
    thread_.join();
    for (int fd : held_) ::close(fd);
  }
  const session::Endpoint& address() const { return address_; }
  std::uint64_t received() const { return received_.load(); }
  int accepted() const { return accepted_.load(); }

 private:
  void loop() {
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    epoll_event event{EPOLLIN, {.fd = listener_.get()}};
    epoll_ctl(ep, EPOLL_CTL_ADD, listener_.get(), &event);
    std::vector<std::uint8_t> buffer(256 * 1024);
    epoll_event events[64];
    while (!stop_) {
      const int n = epoll_wait(ep, events, 64, 50);
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == listener_.get()) {
          int client;
          while ((client = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
            ++accepted_;
            if (mode_ == Mode::kHold) {
              held_.push_back(client);
              continue;
            }
            epoll_event add{EPOLLIN, {.fd = client}};
            epoll_ctl(ep, EPOLL_CTL_ADD, client, &add);
          }
          continue;
        }
        const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), 0);
        if (got <= 0) {
          if (got < 0 && errno == EAGAIN) continue;
          epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
          ::close(fd);
          continue;
        }
        received_ += static_cast<std::uint64_t>(got);
        if (mode_ == Mode::kEcho) ::send(fd, buffer.data(), static_cast<std::size_t>(got), 0);
      }
    }
    ::close(ep);
  }

  Mode mode_;
  UniqueFd listener_;
  session::Endpoint address_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> received_{0};
  std::atomic<int> accepted_{0};
  std::vector<int> held_;
  std::thread thread_;
};

std::unique_ptr<relay::Relay> start_relay(const session::Endpoint& target,
                                          session::SessionTable& table, const Options& options,
                                          relay::ListenerMode mode, bool untouched = true) {
  relay::RelayConfig config;
  config.listen = {session::Endpoint::loopback_v4(0)};
  config.transparent_listener = false;
  config.workers = options.workers;
  config.listener_mode = mode;
  config.slots_per_worker = 65'536;
  config.upstream = relay::fixed_upstream(target);
  config.buffer_size = options.buffer_kib * 1024;
  config.buffer_count = options.buffers;
  config.queues.hard_limit =
      config.queues.high_watermark + std::size_t{config.buffer_count} * config.buffer_size;
  auto relay = relay::Relay::start(config, relay::plain_relay_factory(untouched), table);
  if (!relay.ok()) {
    std::fprintf(stderr, "relay: %s\n", relay.error().message().c_str());
    std::exit(1);
  }
  return std::move(relay).value();
}

// Gbit/s of one stream of `bytes` to a sink at `to` (counted when the sink has it all).
double throughput(const session::Endpoint& to, EpollServer& sink, std::uint64_t bytes) {
  const std::uint64_t before = sink.received();
  UniqueFd fd = connect_to(to);
  std::vector<std::uint8_t> block(256 * 1024, 0x5a);
  const auto begin = Clock::now();
  for (std::uint64_t sent = 0; sent < bytes; sent += block.size()) {
    write_all(fd.get(), block.data(), block.size());
  }
  while (sink.received() - before < bytes) std::this_thread::yield();
  const double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  return static_cast<double>(bytes) * 8 / seconds / 1e9;
}

// New connections per second: 4 threads of connect, 1 byte each way, close.
double connections_per_second(const session::Endpoint& to, double seconds) {
  std::atomic<std::uint64_t> done{0};
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  const auto begin = Clock::now();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      while (Clock::now() < deadline) {
        UniqueFd fd = connect_to(to);
        if (!fd) continue;
        char byte = 'x';
        if (::send(fd.get(), &byte, 1, 0) == 1 && ::recv(fd.get(), &byte, 1, 0) == 1) ++done;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  return static_cast<double>(done.load()) /
         std::chrono::duration<double>(Clock::now() - begin).count();
}

// Memory per idle session. The peers (clients and a server that holds its connections) run in a
// forked child so that the relay process's RSS holds nothing but the relay, and so that each
// process stays under the per-process descriptor limit (the relay needs 2 per session).
bool pipe_write(int fd, const void* data, std::size_t size) {
  return ::write(fd, data, size) == static_cast<ssize_t>(size);
}

void idle_sessions(const Options& options) {
  int to_parent[2];
  int to_child[2];
  if (pipe(to_parent) != 0 || pipe(to_child) != 0) return;
  const pid_t child = fork();
  if (child == 0) {
    ::close(to_parent[0]);
    ::close(to_child[1]);
    {
      EpollServer hold(EpollServer::Mode::kHold);
      const std::uint16_t server_port = hold.address().port();
      pipe_write(to_parent[1], &server_port, sizeof(server_port));
      std::uint16_t relay_port = 0;
      if (::read(to_child[0], &relay_port, sizeof(relay_port)) != sizeof(relay_port)) _exit(1);
      std::vector<UniqueFd> clients;
      int opened = 0;
      for (int i = 0; i < options.idle; ++i) {
        clients.push_back(connect_to(session::Endpoint::loopback_v4(relay_port)));
        if (!clients.back()) break;
        ++opened;
      }
      eventually([&] { return hold.accepted() >= opened; }, std::chrono::seconds(60));
      const int held = hold.accepted();
      pipe_write(to_parent[1], &held, sizeof(held));
      char done = 0;
      [[maybe_unused]] auto ignored = ::read(to_child[0], &done, 1);  // until the parent measured
    }
    _exit(0);
  }
  ::close(to_parent[1]);
  ::close(to_child[0]);
  std::uint16_t server_port = 0;
  if (::read(to_parent[0], &server_port, sizeof(server_port)) != sizeof(server_port)) return;
  session::SessionTable table(100'000);
  auto relay = start_relay(session::Endpoint::loopback_v4(server_port), table, options,
                           relay::ListenerMode::kReusePortPerWorker);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const long rss_before = status_kib("/proc/self/status", "VmRSS:");
  const long slab_before = status_kib("/proc/meminfo", "Slab:");
  const std::uint16_t relay_port = relay->listener_address(0).port();
  pipe_write(to_child[1], &relay_port, sizeof(relay_port));
  int held = 0;
  if (::read(to_parent[0], &held, sizeof(held)) != sizeof(held)) return;
  eventually([&] { return table.active() >= static_cast<std::size_t>(held); },
             std::chrono::seconds(30));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long rss_after = status_kib("/proc/self/status", "VmRSS:");
  const long slab_after = status_kib("/proc/meminfo", "Slab:");
  const std::size_t sessions = table.active();
  std::printf(
      "| relay process memory per idle session at %zu sessions (RSS delta / N), KiB "
      "| - | %.2f | - |\n",
      sessions, static_cast<double>(rss_after - rss_before) / static_cast<double>(sessions));
  std::printf(
      "| kernel slab per idle session, all 4 sockets (client, relay x2, server), KiB "
      "| - | %.2f | - |\n",
      static_cast<double>(slab_after - slab_before) / static_cast<double>(sessions));
  std::printf(
      "\nidle sessions requested %d, established through the relay %zu (relay "
      "process RSS %ld KiB before, %ld KiB after)\n",
      options.idle, sessions, rss_before, rss_after);
  const char done = 1;
  pipe_write(to_child[1], &done, 1);
  int status = 0;
  waitpid(child, &status, 0);
}

int main_impl(const Options& options) {
  if (!enter_private_netns()) {
    std::fprintf(stderr, "relay_bench needs root (private network namespace)\n");
    return 1;
  }
  run("sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range='1024 65000'");
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);  // raise the soft limit to the hard one (no more: no
  files.rlim_cur = files.rlim_max;   // CAP_SYS_RESOURCE is assumed)
  setrlimit(RLIMIT_NOFILE, &files);

  std::printf("| measurement | direct | through the relay | ratio |\n| --- | --- | --- | --- |\n");
  {
    // Both relay paths side by side: bytes through the handler (copy: recv into provided
    // buffers, send from the queue) and relay_untouched() (splice through a pipe).
    EpollServer sink(EpollServer::Mode::kSink);
    session::SessionTable table(100'000);
    auto copy = start_relay(sink.address(), table, options,
                            relay::ListenerMode::kReusePortPerWorker, /*untouched=*/false);
    auto splice = start_relay(sink.address(), table, options,
                              relay::ListenerMode::kReusePortPerWorker, /*untouched=*/true);
    std::vector<double> direct, copied, spliced;
    for (int r = 0; r < options.runs; ++r) {  // alternate so all three see the same noise
      direct.push_back(throughput(sink.address(), sink, options.mib << 20));
      copied.push_back(throughput(copy->listener_address(0), sink, options.mib << 20));
      spliced.push_back(throughput(splice->listener_address(0), sink, options.mib << 20));
    }
    for (const auto& [label, values] :
         {std::pair{"copy path", &copied}, std::pair{"splice path (relay_untouched)", &spliced}}) {
      std::printf(
          "| throughput, 1 stream, %s, Gbit/s (median of %d x %llu MiB) | %.2f | %.2f | %.2f "
          "|\n",
          label, options.runs, static_cast<unsigned long long>(options.mib), median(direct),
          median(*values), median(*values) / median(direct));
    }
    std::fflush(stdout);
  }
  for (auto mode : {relay::ListenerMode::kReusePortPerWorker, relay::ListenerMode::kShared}) {
    EpollServer echo(EpollServer::Mode::kEcho);
    session::SessionTable table(100'000);
    auto relay = start_relay(echo.address(), table, options, mode);
    std::vector<double> direct, relayed;
    for (int r = 0; r < options.runs; ++r) {
      direct.push_back(connections_per_second(echo.address(), options.seconds));
      relayed.push_back(connections_per_second(relay->listener_address(0), options.seconds));
    }
    std::printf(
        "| new connections/s, 4 clients, %s (median of %d x %.0f s) | %.0f | %.0f | %.2f |\n",
        mode == relay::ListenerMode::kShared ? "one shared listener"
                                             : "SO_REUSEPORT listener per worker",
        options.runs, options.seconds, median(direct), median(relayed),
        median(relayed) / median(direct));
    std::fflush(stdout);
  }
  idle_sessions(options);
  return 0;
}

}  // namespace
}  // namespace wb::test

int main(int argc, char** argv) {
  wb::test::Options options;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--runs")
      options.runs = std::atoi(value);
    else if (flag == "--seconds")
      options.seconds = std::atof(value);
    else if (flag == "--bytes")
      options.mib = std::strtoull(value, nullptr, 10);
    else if (flag == "--idle")
      options.idle = std::atoi(value);
    else if (flag == "--workers")
      options.workers = static_cast<unsigned>(std::atoi(value));
    else if (flag == "--buffer-kib")
      options.buffer_kib = static_cast<unsigned>(std::atoi(value));
    else if (flag == "--buffers")
      options.buffers = static_cast<unsigned>(std::atoi(value));
    else {
      std::fprintf(stderr,
                   "usage: relay_bench [--runs N] [--seconds S] [--bytes MiB] "
                   "[--idle N] [--workers W] [--buffer-kib K] [--buffers N]\n");
      return 2;
    }
  }
  spdlog::set_level(spdlog::level::warn);  // no per-session lines in the measurement
  return wb::test::main_impl(options);
}
