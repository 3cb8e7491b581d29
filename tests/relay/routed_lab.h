// A routed lab for the relay's transparent path without the BPF datapath: client, router (the
// relay's namespace) and server namespaces; nft tproxy on the router steers the client's TCP
// connections to port `port` into the relay's transparent listener, and the classic
// "socket transparent" rule brings the server's replies back to the relay's upstream socket.
// This is the kernel's own TPROXY doing what bpf_sk_assign does on the bridge, so the relay's
// original-destination and client-address logic runs for real.
//
//   PREFIX-c  cli0 192.0.2.1/24 (default via 192.0.2.254)
//   PREFIX-r  r0 192.0.2.254/24, r1 198.51.100.254/24, forwarding, tproxy
//   PREFIX-s  srv0 198.51.100.2/24 (default via 198.51.100.254)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace wb::test {

class RoutedLab {
 public:
  static constexpr const char* kClientIp = "192.0.2.1";
  static constexpr const char* kServerIp = "198.51.100.2";

  RoutedLab();
  ~RoutedLab();
  RoutedLab(const RoutedLab&) = delete;
  RoutedLab& operator=(const RoutedLab&) = delete;

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  std::string client() const { return prefix_ + "-c"; }
  std::string router() const { return prefix_ + "-r"; }
  std::string server() const { return prefix_ + "-s"; }
  const std::string& dir() const { return dir_; }

  // Steers TCP to `dport` arriving from the client side into the listener on `listener_port`.
  bool steer(std::uint16_t dport, std::uint16_t listener_port);
  CommandResult exec(const std::string& ns, const std::string& command,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;
  Process& spawn(const std::string& ns, const std::string& command, const std::string& name);

 private:
  std::string prefix_;
  std::string dir_;
  bool ok_ = false;
  std::string error_;
  std::vector<Process*> processes_;
};

}  // namespace wb::test
