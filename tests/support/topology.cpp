#include "tests/support/topology.h"
#include "tests/support/build_paths.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

namespace wb::test {
namespace {

std::string unique_prefix() {
  static std::atomic<int> counter{0};
  // Short: namespace names show up in `ip netns list`, and the hook in CI looks for leftovers.
  return "wbt" + std::to_string(getpid() % 100000) + "x" + std::to_string(counter++);
}

}  // namespace

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::string source_path(const std::string& relative) {
  return std::string(WB_SOURCE_DIR) + "/" + relative;
}
std::string binary_path(const std::string& relative) {
  return std::string(WB_BINARY_DIR) + "/" + relative;
}
std::string testdata_path(const std::string& relative) {
  return std::string(WB_TESTDATA_DIR) + "/" + relative;
}
std::string wirebump_binary() {
  return binary_path("agent/cli/wirebump");
}

Topology::Topology(TopologyOptions options) : prefix_(unique_prefix()) {
  skip_unless_root("the client/bridge/server namespace topology");
  dir_ = "/tmp/" + prefix_;
  std::filesystem::create_directories(dir_);
  std::string cmd = shell_quote(source_path("deploy/topology.sh")) + " up " + prefix_;
  if (!options.tx_offload) cmd += " --no-offload";
  CommandResult r = run(cmd, std::chrono::seconds(30));
  ok_ = r.exit_code == 0;
  if (!ok_) error_ = "deploy/topology.sh up failed: " + r.err + r.out;
}

Topology::~Topology() {
  for (auto it = processes_.rbegin(); it != processes_.rend(); ++it) {
    (*it)->stop();
    delete *it;
  }
  run(shell_quote(source_path("deploy/topology.sh")) + " down " + prefix_,
      std::chrono::seconds(30));
  std::error_code ignored;
  if (std::getenv("WB_KEEP_TEST_DIRS") == nullptr) std::filesystem::remove_all(dir_, ignored);
}

CommandResult Topology::exec(const std::string& ns, const std::string& command,
                             std::chrono::milliseconds timeout) const {
  return run("ip netns exec " + ns + " sh -c " + shell_quote(command), timeout);
}

CommandResult Topology::enter(const std::string& ns, const std::string& command,
                              std::chrono::milliseconds timeout) const {
  return run("nsenter --net=/run/netns/" + ns + " sh -c " + shell_quote(command), timeout);
}

Process& Topology::spawn(const std::string& ns, const std::string& command,
                         const std::string& name) {
  auto* process = new Process(
      Process::spawn("exec nsenter --net=/run/netns/" + ns + " sh -c " + shell_quote(command),
                     dir_ + "/" + name + ".log"));
  processes_.push_back(process);
  return *process;
}

int Topology::ifindex(const std::string& ns, const std::string& ifname) const {
  CommandResult r = run("ip -n " + ns + " -o link show dev " + ifname + " | cut -d: -f1");
  if (r.exit_code != 0 || r.out.empty()) return -1;
  return std::atoi(r.out.c_str());
}

NetnsGuard::NetnsGuard(const std::string& ns) {
  previous_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  int target = open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC);
  ok_ = previous_ >= 0 && target >= 0 && setns(target, CLONE_NEWNET) == 0;
  if (target >= 0) close(target);
}

NetnsGuard::~NetnsGuard() {
  if (previous_ >= 0) {
    if (ok_) setns(previous_, CLONE_NEWNET);
    close(previous_);
  }
}

bool in_private_netns(const std::function<void()>& body) {
  bool entered = false;
  std::thread worker([&] {
    // unshare() moves only this thread; the test's other threads keep their namespace.
    if (unshare(CLONE_NEWNET) != 0) return;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ifreq lo{};
    std::strncpy(lo.ifr_name, "lo", IFNAMSIZ - 1);
    lo.ifr_flags = IFF_UP;
    entered = fd >= 0 && ioctl(fd, SIOCSIFFLAGS, &lo) == 0;
    if (fd >= 0) close(fd);
    if (entered) body();
  });
  worker.join();
  return entered;
}

void skip_unless_root(const char* needed_for) {
  if (geteuid() == 0) return;
  std::fprintf(stderr, "SKIP: not root; %s needs root\n", needed_for);
  std::exit(77);
}

}  // namespace wb::test
