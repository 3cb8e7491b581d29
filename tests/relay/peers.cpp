#include "tests/relay/peers.h"

#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "agent/relay/listener.h"

namespace wb::test {

bool enter_private_netns() {
  static const bool entered = [] {
    if (unshare(CLONE_NEWNET) != 0) return false;
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq request{};
    std::strncpy(request.ifr_name, "lo", IFNAMSIZ - 1);
    request.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING;
    const bool up = ioctl(fd, SIOCSIFFLAGS, &request) == 0;
    ::close(fd);
    return up;
  }();
  return entered;
}

void Checksum::add(const std::uint8_t* data, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    hash_ ^= data[i];
    hash_ *= 1099511628211ull;
  }
  bytes_ += size;
}

void fill_pattern(std::uint8_t* out, std::size_t size, std::uint64_t offset, std::uint32_t seed) {
  for (std::size_t i = 0; i < size; ++i) {
    std::uint64_t x = (offset + i) * 0x9E3779B97F4A7C15ull + seed;
    x ^= x >> 29;
    out[i] = static_cast<std::uint8_t>(x ^ (x >> 17));
  }
}

bool write_all(int fd, const void* data, std::size_t size) {
  const auto* bytes = static_cast<const std::uint8_t*>(data);
  while (size > 0) {
    const ssize_t n = ::send(fd, bytes, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

bool send_pattern(int fd, std::uint64_t total, std::uint32_t seed, Checksum* sum) {
  std::vector<std::uint8_t> block(64 * 1024);
  for (std::uint64_t offset = 0; offset < total;) {
    const std::size_t size =
        static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), total - offset));
    fill_pattern(block.data(), size, offset, seed);
    if (!write_all(fd, block.data(), size)) return false;
    if (sum != nullptr) sum->add(block.data(), size);
    offset += size;
  }
  return true;
}

int drain(int fd, Checksum& sum, int timeout_ms) {
  std::vector<std::uint8_t> block(64 * 1024);
  while (true) {
    pollfd waiter{fd, POLLIN, 0};
    const int ready = ::poll(&waiter, 1, timeout_ms);
    if (ready == 0) return -ETIMEDOUT;
    if (ready < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    const ssize_t n = ::recv(fd, block.data(), block.size(), 0);
    if (n == 0) return 0;
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return -errno;
    }
    sum.add(block.data(), static_cast<std::size_t>(n));
  }
}

UniqueFd connect_to(const session::Endpoint& address) {
  UniqueFd fd(socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  if (::connect(fd.get(), address.sockaddr_ptr(), address.length()) != 0) return UniqueFd();
  return fd;
}

void set_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

TestServer::TestServer(Handler handler, session::Endpoint address) : handler_(std::move(handler)) {
  auto group = relay::open_listeners(address, 1, {false, false, 1024});
  if (!group.ok()) return;
  listener_ = std::move(group->fds[0]);
  address_ = group->address;
  acceptor_ = std::thread([this] { loop(); });
}

TestServer::~TestServer() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
  }
  for (auto& thread : threads) thread.join();
}

std::vector<session::Endpoint> TestServer::peers() {
  std::lock_guard lock(mutex_);
  return peers_;
}

void TestServer::loop() {
  while (!stop_) {
    pollfd waiter{listener_.get(), POLLIN, 0};
    if (::poll(&waiter, 1, 50) <= 0) continue;
    sockaddr_storage peer{};
    socklen_t length = sizeof(peer);
    const int fd =
        accept4(listener_.get(), reinterpret_cast<sockaddr*>(&peer), &length, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    std::lock_guard lock(mutex_);
    peers_.push_back(session::Endpoint::from_sockaddr(reinterpret_cast<sockaddr*>(&peer), length));
    threads_.emplace_back([this, fd] {
      set_timeouts(fd, 30'000);
      handler_(fd);
      ::close(fd);
    });
  }
}

}  // namespace wb::test
