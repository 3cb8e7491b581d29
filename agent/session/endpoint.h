// An IPv4 or IPv6 socket address (address + port) that is cheap to copy and print. Used for the
// client, the original destination and the upstream source of every session.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/common/result.h"

namespace wb::session {

class Endpoint {
 public:
  Endpoint() = default;
  // From a kernel sockaddr (AF_INET or AF_INET6); any other family gives an empty Endpoint.
  static Endpoint from_sockaddr(const sockaddr* address, socklen_t length);
  // "192.0.2.1:443", "[2001:db8::1]:443"; port 0 allowed.
  static Result<Endpoint> parse(std::string_view text);
  static Endpoint loopback_v4(std::uint16_t port);

  bool empty() const { return storage_.any.sa_family == AF_UNSPEC; }
  bool is_v6() const { return storage_.any.sa_family == AF_INET6; }
  int family() const { return storage_.any.sa_family; }
  std::uint16_t port() const;
  // The same address with another port (bind(client_ip, 0) uses with_port(0)).
  Endpoint with_port(std::uint16_t port) const;

  const sockaddr* sockaddr_ptr() const { return &storage_.any; }
  socklen_t length() const;

  std::string address_string() const;  // "192.0.2.1" / "2001:db8::1"
  std::string to_string() const;       // "192.0.2.1:443" / "[2001:db8::1]:443"

  friend bool operator==(const Endpoint& a, const Endpoint& b);

 private:
  // Only the two families it can hold, not a sockaddr_storage: 28 bytes instead of 128. Every
  // session carries about seven (session table entry, relay slot, handler), ~700 bytes apiece
  // otherwise. Zero-filled: operator== compares the bytes. The largest member comes first, since
  // `{}` initialises only a union's first member: with `sockaddr` (16 bytes) first, an IPv6
  // endpoint's scope id was left indeterminate and two equal endpoints could compare unequal
  // (fuzz_endpoint found it).
  union Storage {
    sockaddr_in6 v6;
    sockaddr_in v4;
    sockaddr any;
  } storage_{};
};
static_assert(sizeof(Endpoint) == sizeof(sockaddr_in6));

}  // namespace wb::session
