#include "tests/datapath/test_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

#include "tests/support/topology.h"

namespace wb::test {
namespace {

std::string to_string(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof(buf));
    return std::string(buf) + ":" + std::to_string(ntohs(a->sin_port));
  }
  auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
  inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof(buf));
  return "[" + std::string(buf) + "]:" + std::to_string(ntohs(a->sin6_port));
}

socklen_t length(const sockaddr_storage& ss) {
  return ss.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

Result<UniqueFd> transparent_socket(int family) {
  UniqueFd fd(socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return errno_error("socket");
  int on = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  int level = family == AF_INET ? SOL_IP : SOL_IPV6;
  int opt = family == AF_INET ? IP_TRANSPARENT : IPV6_TRANSPARENT;
  if (setsockopt(fd.get(), level, opt, &on, sizeof(on)) != 0) return errno_error("IP_TRANSPARENT");
  if (family == AF_INET6 && setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) != 0)
    return errno_error("IPV6_V6ONLY");
  return fd;
}

Result<UniqueFd> transparent_listener(int family, std::uint16_t port) {
  WB_TRY_ASSIGN(UniqueFd fd, transparent_socket(family));
  sockaddr_storage ss{};
  ss.ss_family = static_cast<sa_family_t>(family);
  if (family == AF_INET)
    reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), length(ss)) != 0) return errno_error("bind");
  if (listen(fd.get(), 16) != 0) return errno_error("listen");
  return fd;
}

}  // namespace

Result<std::unique_ptr<TestRelay>> TestRelay::start(const std::string& ns, std::uint16_t port) {
  std::unique_ptr<TestRelay> relay(new TestRelay());
  {
    NetnsGuard in_ns(ns);  // sockets belong to the namespace they are created in
    if (!in_ns.ok()) return errno_error("enter " + ns);
    WB_TRY_ASSIGN(relay->v4_, transparent_listener(AF_INET, port));
    WB_TRY_ASSIGN(relay->v6_, transparent_listener(AF_INET6, port));
  }
  relay->thread_ = std::thread(&TestRelay::loop, relay.get(), ns);
  return relay;
}

TestRelay::~TestRelay() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

std::vector<RelayedConnection> TestRelay::connections() {
  std::lock_guard lock(mutex_);
  return done_;
}

void TestRelay::loop(std::string ns) {
  NetnsGuard in_ns(ns);  // upstream sockets are made on this thread
  while (!stop_) {
    pollfd fds[2] = {{v4_.get(), POLLIN, 0}, {v6_.get(), POLLIN, 0}};
    if (poll(fds, 2, 100) <= 0) continue;
    for (const pollfd& p : fds) {
      if (!(p.revents & POLLIN)) continue;
      UniqueFd client(accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC));
      if (client) serve(client.get());
    }
  }
}

void TestRelay::serve(int client_fd) {
  RelayedConnection c;
  sockaddr_storage local{}, peer{};
  socklen_t len = sizeof(local);
  getsockname(client_fd, reinterpret_cast<sockaddr*>(&local), &len);
  len = sizeof(peer);
  getpeername(client_fd, reinterpret_cast<sockaddr*>(&peer), &len);
  c.original_dst = to_string(local);
  c.client = to_string(peer);

  auto upstream = transparent_socket(local.ss_family);
  if (!upstream) return;
  int up = upstream->get();
  sockaddr_storage bind_addr = peer;  // the client's own address, any port
  if (bind_addr.ss_family == AF_INET)
    reinterpret_cast<sockaddr_in*>(&bind_addr)->sin_port = 0;
  else
    reinterpret_cast<sockaddr_in6*>(&bind_addr)->sin6_port = 0;
  timeval tv{5, 0};
  setsockopt(up, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  if (bind(up, reinterpret_cast<sockaddr*>(&bind_addr), length(bind_addr)) != 0) return;
  if (connect(up, reinterpret_cast<sockaddr*>(&local), length(local)) != 0) return;
  sockaddr_storage up_local{};
  len = sizeof(up_local);
  getsockname(up, reinterpret_cast<sockaddr*>(&up_local), &len);
  c.upstream_local = to_string(up_local);

  // Copy both ways until both directions finished (half-close passed on), 10 s at most.
  struct Direction {
    int from, to;
    std::size_t* bytes;
    bool open = true;
  };
  Direction dirs[2] = {{client_fd, up, &c.bytes_up}, {up, client_fd, &c.bytes_down}};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  char buf[16384];
  while ((dirs[0].open || dirs[1].open) && std::chrono::steady_clock::now() < deadline && !stop_) {
    pollfd fds[2];
    for (int i = 0; i < 2; ++i) fds[i] = {dirs[i].open ? dirs[i].from : -1, POLLIN, 0};
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (!fds[i].revents) continue;
      ssize_t n = read(dirs[i].from, buf, sizeof(buf));
      if (n <= 0) {
        dirs[i].open = false;
        shutdown(dirs[i].to, SHUT_WR);
      } else if (write(dirs[i].to, buf, static_cast<size_t>(n)) == n) {
        *dirs[i].bytes += static_cast<std::size_t>(n);
      }
    }
  }
  std::lock_guard lock(mutex_);
  done_.push_back(c);
}

}  // namespace wb::test
