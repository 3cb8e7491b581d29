// A minimal transparent relay standing in for the agent in the datapath e2e tests: IP_TRANSPARENT
// listeners (v4 and v6) in the bridge namespace that the classifier steers SYNs to, and for
// each accepted connection an upstream socket bound transparently to the CLIENT's address and
// connected to the ORIGINAL destination (getsockname of the accepted socket). It serves one
// connection at a time, bounded in time, and records what it saw.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agent/common/result.h"
#include "agent/common/unique_fd.h"

namespace wb::test {

struct RelayedConnection {
  std::string client;          // getpeername of the accepted socket
  std::string original_dst;    // getsockname of the accepted socket
  std::string upstream_local;  // getsockname of the upstream socket (the client's address)
  std::size_t bytes_up = 0;    // client -> server
  std::size_t bytes_down = 0;  // server -> client
};

class TestRelay {
 public:
  // Listens on port (any address) in namespace ns; the relay thread lives in that namespace.
  static Result<std::unique_ptr<TestRelay>> start(const std::string& ns, std::uint16_t port);
  ~TestRelay();
  TestRelay(const TestRelay&) = delete;
  TestRelay& operator=(const TestRelay&) = delete;

  int listener_v4() const { return v4_.get(); }
  int listener_v6() const { return v6_.get(); }
  std::vector<RelayedConnection> connections();

 private:
  TestRelay() = default;
  void loop(std::string ns);
  void serve(int client_fd);

  UniqueFd v4_;
  UniqueFd v6_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<RelayedConnection> done_;
  std::thread thread_;
};

}  // namespace wb::test
