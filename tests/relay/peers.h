// Real-socket peers for the relay tests: a threaded TCP server running a function per
// connection, blocking client helpers, deterministic payloads and a streaming checksum.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/unique_fd.h"
#include "agent/session/endpoint.h"

namespace wb::test {

// Moves the calling process into a fresh network namespace with lo up, once. Must run before
// any thread exists. Returns false (with errno) when not allowed.
bool enter_private_netns();

// FNV-1a over a byte stream, to compare what was sent with what arrived.
class Checksum {
 public:
  void add(const std::uint8_t* data, std::size_t size);
  std::uint64_t value() const { return hash_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  std::uint64_t hash_ = 1469598103934665603ull;
  std::uint64_t bytes_ = 0;
};

// Deterministic, non-repeating-looking bytes: byte i of stream `seed`.
void fill_pattern(std::uint8_t* out, std::size_t size, std::uint64_t offset, std::uint32_t seed);

// Writes `total` pattern bytes; false on error. Updates `sum` with what was written.
bool send_pattern(int fd, std::uint64_t total, std::uint32_t seed, Checksum* sum = nullptr);
// Reads until EOF (returns 0) or an error (returns -errno), adding everything to `sum`.
int drain(int fd, Checksum& sum, int timeout_ms = 30'000);
bool write_all(int fd, const void* data, std::size_t size);

// A blocking connected socket, or an invalid fd.
UniqueFd connect_to(const session::Endpoint& address);
// Sets a receive timeout so no test read blocks forever.
void set_timeouts(int fd, int ms);

class TestServer {
 public:
  using Handler = std::function<void(int fd)>;
  // Listens on `address` (port 0: any) and runs `handler` on its own thread per connection;
  // the connection is closed when the handler returns.
  explicit TestServer(Handler handler,
                      session::Endpoint address = session::Endpoint::loopback_v4(0));
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  const session::Endpoint& address() const { return address_; }
  int accepted() const { return accepted_; }
  // Peer address of every accepted connection, in order.
  std::vector<session::Endpoint> peers();

 private:
  void loop();
  Handler handler_;
  UniqueFd listener_;
  session::Endpoint address_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::mutex mutex_;
  std::vector<std::thread> threads_;
  std::vector<session::Endpoint> peers_;
  std::thread acceptor_;
};

}  // namespace wb::test
