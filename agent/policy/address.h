// IP addresses and CIDR prefixes for policy rules and the learned-tunnel table. IPv4 is kept as
// an IPv4-mapped IPv6 address so one 16-byte comparison serves both families.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/common/result.h"
#include "agent/config/cidr.h"

namespace wb::policy {

struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 as ::ffff:a.b.c.d

  static Result<IpAddress> parse(std::string_view text);
  static IpAddress from_v4(const in_addr& a);
  static IpAddress from_v6(const in6_addr& a);
  // AF_INET or AF_INET6; anything else is an error.
  static Result<IpAddress> from_sockaddr(const sockaddr* sa);

  bool is_v4() const;
  std::string to_string() const;
  auto operator<=>(const IpAddress&) const = default;
};

// A destination a connection goes to (the client's original destination).
struct Destination {
  IpAddress address;
  std::uint16_t port = 0;
  // "192.0.2.2:443" or "[2001:db8::2]:443"
  std::string to_string() const;
  auto operator<=>(const Destination&) const = default;
};

struct Cidr {
  IpAddress network;
  std::uint8_t prefix = 0;  // in bits of the 128-bit (mapped) form

  // "192.0.2.0/24", "2001:db8::/32", or a bare address (a host prefix), validated exactly as the
  // config file and the CLI validate it (config::parse_cidr), so the operator sees one message.
  static Result<Cidr> parse(std::string_view text);
  static Cidr from_config(const config::Cidr& cidr);
  bool contains(const IpAddress& address) const;
  std::string to_string() const;
  bool operator==(const Cidr&) const = default;
};

}  // namespace wb::policy
