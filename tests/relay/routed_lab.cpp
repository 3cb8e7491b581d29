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

// The lab as a shell script; @C@, @R@ and @S@ are the namespace names.
constexpr const char* kLabScript = R"(set -e
ip netns add @C@
ip netns add @R@
ip netns add @S@
ip link add cli0 netns @C@ type veth peer name r0 netns @R@
ip link add srv0 netns @S@ type veth peer name r1 netns @R@
for ns in @C@ @R@ @S@; do
  ip -n $ns link set lo up
  ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
done
ip -n @C@ addr add 192.0.2.1/24 dev cli0
ip -n @C@ -6 addr add 2001:db8:1::1/64 dev cli0 nodad
ip -n @S@ addr add 198.51.100.2/24 dev srv0
ip -n @S@ -6 addr add 2001:db8:2::2/64 dev srv0 nodad
ip -n @R@ addr add 192.0.2.254/24 dev r0
ip -n @R@ -6 addr add 2001:db8:1::fe/64 dev r0 nodad
ip -n @R@ addr add 198.51.100.254/24 dev r1
ip -n @R@ -6 addr add 2001:db8:2::fe/64 dev r1 nodad
for link in "@C@ cli0" "@S@ srv0" "@R@ r0" "@R@ r1"; do set -- $link; ip -n $1 link set $2 up; done
ip -n @C@ route add default via 192.0.2.254
ip -n @C@ -6 route add default via 2001:db8:1::fe
ip -n @S@ route add default via 198.51.100.254
ip -n @S@ -6 route add default via 2001:db8:2::fe
ip netns exec @R@ sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
# Packets for sockets the relay owns (marked 1 by the nft rules) are delivered locally.
ip -n @R@ rule add fwmark 1 lookup 100
ip -n @R@ route add local 0.0.0.0/0 dev lo table 100
ip -n @R@ -6 rule add fwmark 1 lookup 100
ip -n @R@ -6 route add local ::/0 dev lo table 100
for i in $(seq 1 30); do
  ip netns exec @C@ ping -c1 -W1 -q 198.51.100.2 >/dev/null 2>&1 &&
    ip netns exec @C@ ping -6 -c1 -W1 -q 2001:db8:2::2 >/dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "routed lab: client cannot reach server" >&2
exit 1
)";

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

}  // namespace

RoutedLab::RoutedLab() : prefix_(unique_prefix()) {
  dir_ = "/tmp/" + prefix_;
  std::filesystem::create_directories(dir_);
  const std::string script = replace_all(
      replace_all(replace_all(kLabScript, "@C@", client()), "@R@", router()), "@S@", server());
  const auto result = run(script, std::chrono::seconds(60));
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

bool RoutedLab::steer(std::uint16_t dport, std::uint16_t listener_port,
                      std::uint16_t listener_port6) {
  const std::string port = std::to_string(dport);
  const std::string rules =
      "table inet wbt {\n"
      "  chain pre {\n"
      "    type filter hook prerouting priority mangle; policy accept;\n"
      "    meta l4proto tcp socket transparent 1 meta mark set 1 accept\n"
      "    iifname \"r0\" meta nfproto ipv4 tcp dport " +
      port + " tproxy ip to :" + std::to_string(listener_port) +
      " meta mark set 1 accept\n"
      "    iifname \"r0\" meta nfproto ipv6 tcp dport " +
      port + " tproxy ip6 to :" + std::to_string(listener_port6) +
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
