// A routed lab for the relay's transparent path without the BPF datapath: client, router (the
// relay's namespace) and server namespaces; nft tproxy on the router steers the client's TCP
// connections to port `port` into the relay's transparent listener, and the classic
// "socket transparent" rule brings the server's replies back to the relay's upstream socket.
// This is the kernel's own TPROXY doing what bpf_sk_assign does on the bridge, so the relay's
// original-destination and client-address logic runs for real.
//
//   PREFIX-c  cli0 192.0.2.1/24, 2001:db8:1::1/64 (default via the router)
//   PREFIX-r  r0 192.0.2.254/24, 2001:db8:1::fe/64; r1 198.51.100.254/24, 2001:db8:2::fe/64;
//             forwarding, tproxy (nft inet table), fwmark 1 -> local delivery (both families)
//   PREFIX-s  srv0 198.51.100.2/24, 2001:db8:2::2/64 (default via the router)
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
  static constexpr const char* kClientIp6 = "2001:db8:1::1";
  static constexpr const char* kServerIp6 = "2001:db8:2::2";

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

  // Steers TCP to `dport` arriving from the client side into the listeners on `listener_port`
  // (IPv4) and `listener_port6` (IPv6).
  bool steer(std::uint16_t dport, std::uint16_t listener_port, std::uint16_t listener_port6);
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
