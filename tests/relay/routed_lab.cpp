#include "tests/relay/routed_lab.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "tests/support/topology.h"

namespace wb::test {
namespace {

std::string unique_prefix() {
  static std::atomic<int> counter{0};
  return "wbtrl" + std::to_string(getpid() % 100000) + "x" + std::to_string(counter++);
}

}  // namespace

RoutedLab::RoutedLab() : prefix_(unique_prefix()) {
  dir_ = "/tmp/" + prefix_;
  std::filesystem::create_directories(dir_);
  const std::string c = client(), r = router(), s = server();
  const std::string script =
      "set -e\n"
      "ip netns add " +
      c + "\nip netns add " + r + "\nip netns add " + s +
      "\n"
      "ip link add cli0 netns " +
      c + " type veth peer name r0 netns " + r +
      "\n"
      "ip link add srv0 netns " +
      s + " type veth peer name r1 netns " + r +
      "\n"
      "for ns in " +
      c + " " + r + " " + s +
      "; do ip -n $ns link set lo up; done\n"
      "ip -n " +
      c +
      " addr add 192.0.2.1/24 dev cli0\n"
      "ip -n " +
      c +
      " link set cli0 up\n"
      "ip -n " +
      c +
      " route add default via 192.0.2.254\n"
      "ip -n " +
      s +
      " addr add 198.51.100.2/24 dev srv0\n"
      "ip -n " +
      s +
      " link set srv0 up\n"
      "ip -n " +
      s +
      " route add default via 198.51.100.254\n"
      "ip -n " +
      r +
      " addr add 192.0.2.254/24 dev r0\n"
      "ip -n " +
      r +
      " addr add 198.51.100.254/24 dev r1\n"
      "ip -n " +
      r +
      " link set r0 up\n"
      "ip -n " +
      r +
      " link set r1 up\n"
      "ip netns exec " +
      r +
      " sysctl -qw net.ipv4.ip_forward=1\n"
      // Packets for sockets the relay owns (marked 1) are delivered locally.
      "ip -n " +
      r +
      " rule add fwmark 1 lookup 100\n"
      "ip -n " +
      r +
      " route add local 0.0.0.0/0 dev lo table 100\n"
      "ip netns exec " +
      c + " ping -c1 -W2 -q 198.51.100.2 >/dev/null\n";
  const auto result = run(script, std::chrono::seconds(30));
  ok_ = result.exit_code == 0;
  if (!ok_) error_ = result.err + result.out;
}

RoutedLab::~RoutedLab() {
  for (Process* process : processes_) {
    process->stop();
    delete process;
  }
  run("for ns in " + client() + " " + router() + " " + server() +
          "; do ip netns del $ns 2>/dev/null; done; true",
      std::chrono::seconds(30));
  std::error_code ignored;
  if (std::getenv("WB_KEEP_TEST_DIRS") == nullptr) std::filesystem::remove_all(dir_, ignored);
}

bool RoutedLab::steer(std::uint16_t dport, std::uint16_t listener_port) {
  const std::string rules =
      "table ip wbt {\n"
      "  chain pre {\n"
      "    type filter hook prerouting priority mangle; policy accept;\n"
      "    meta l4proto tcp socket transparent 1 meta mark set 1 accept\n"
      "    iifname \"r0\" tcp dport " +
      std::to_string(dport) + " tproxy to :" + std::to_string(listener_port) +
      " meta mark set 1 accept\n"
      "  }\n"
      "}\n";
  const std::string path = dir_ + "/steer.nft";
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return false;
  std::fputs(rules.c_str(), file);
  std::fclose(file);
  return exec(router(), "nft -f " + shell_quote(path)).exit_code == 0;
}

CommandResult RoutedLab::exec(const std::string& ns, const std::string& command,
                              std::chrono::milliseconds timeout) const {
  return run("ip netns exec " + ns + " sh -c " + shell_quote(command), timeout);
}

Process& RoutedLab::spawn(const std::string& ns, const std::string& command,
                          const std::string& name) {
  auto* process = new Process(
      Process::spawn("exec ip netns exec " + ns + " sh -c " + shell_quote("exec " + command),
                     dir_ + "/" + name + ".log"));
  processes_.push_back(process);
  return *process;
}

}  // namespace wb::test
