// The e2e fixture: a client / bridge / server topology in fresh, uniquely named network
// namespaces (deploy/topology.sh builds it; the demo uses the same script). Everything it
// creates, namespaces and background processes alike, is removed in the destructor, so a
// failed ASSERT still cleans up. Not root: the test binary exits 77 (ctest SKIP) saying so.
// tests/run.sh sweeps the "wbt" prefix too, for crashed tests.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace wb::test {

struct TopologyOptions {
  bool tx_offload = true;  // false: ethtool -K tx off on the endpoints (native XDP redirect)
};

class Topology {
 public:
  // Addresses live only inside the namespaces (documentation ranges).
  static constexpr const char* kClientIp = "192.0.2.1";
  static constexpr const char* kServerIp = "192.0.2.2";
  static constexpr const char* kBridgeIp = "192.0.2.254";
  static constexpr const char* kClientIp6 = "2001:db8::1";
  static constexpr const char* kServerIp6 = "2001:db8::2";
  static constexpr const char* kBridgeIp6 = "2001:db8::fe";
  // Interface names inside the bridge namespace.
  static constexpr const char* kBridge = "br0";
  static constexpr const char* kClientPort = "eth1";
  static constexpr const char* kServerPort = "eth2";

  explicit Topology(TopologyOptions options = {});
  ~Topology();
  Topology(const Topology&) = delete;
  Topology& operator=(const Topology&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  const std::string& prefix() const { return prefix_; }
  std::string client() const { return prefix_ + "-c"; }
  std::string bridge() const { return prefix_ + "-b"; }
  std::string server() const { return prefix_ + "-s"; }

  // `ip netns exec NS sh -c CMD` (remounts /sys: bpffs pins are hidden there).
  CommandResult exec(const std::string& ns, const std::string& command,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // `nsenter --net=/run/netns/NS sh -c CMD`: keeps the root mount namespace, so bpffs pins
  // under /sys/fs/bpf stay visible. Use for the agent and loaders.
  CommandResult enter(const std::string& ns, const std::string& command,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  // A background process in NS (nsenter form), owned by the topology: stopped before the
  // namespaces go away. Returns a reference valid for the topology's lifetime.
  Process& spawn(const std::string& ns, const std::string& command, const std::string& name);

  // Per-topology scratch directory (logs, certificates, configs), removed with the topology.
  const std::string& dir() const { return dir_; }
  // ifindex of an interface inside a namespace, or -1.
  int ifindex(const std::string& ns, const std::string& ifname) const;

 private:
  std::string prefix_;
  std::string dir_;
  bool ok_ = false;
  std::string error_;
  std::vector<Process*> processes_;
};

// Enters a network namespace on the calling thread for the guard's lifetime (setns), for
// in-process work such as attaching BPF programs; restores the previous namespace after.
class NetnsGuard {
 public:
  explicit NetnsGuard(const std::string& ns);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;
  bool ok() const { return ok_; }

 private:
  int previous_ = -1;
  bool ok_ = false;
};

// Runs body on a new thread in a fresh, private network namespace with only `lo` (up), and
// waits for it. The namespace dies with the thread's last socket: nothing to clean up. For
// in-process tests that need real sockets and BPF_PROG_TEST_RUN in one namespace (the kernel
// runs a test frame in the calling thread's namespace). False when the namespace could not be
// made (body did not run).
bool in_private_netns(const std::function<void()>& body);

// Ends the test binary with ctest's skip code (77) and says why when the process is not root:
// network namespaces and BPF need it. As root (CI) it returns and the test runs.
void skip_unless_root(const char* needed_for);

// Paths into the source and build trees.
std::string source_path(const std::string& relative);
std::string binary_path(const std::string& relative);
std::string testdata_path(const std::string& relative);  // ../shared/testdata/...
std::string wirebump_binary();

// Quotes a string for /bin/sh.
std::string shell_quote(const std::string& text);

}  // namespace wb::test
