// IPv4/IPv6 prefixes (bypass lists, policy destinations), parsed strictly: the config file and the
// CLI both validate with these, so an operator sees the same message from either.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "agent/common/result.h"

namespace wb::config {

struct Cidr {
  int family = 0;                       // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> addr{};  // network order; IPv4 uses the first 4 bytes
  std::uint8_t prefix = 0;              // 0..32 or 0..128

  std::string to_string() const;  // "192.0.2.0/24", "2001:db8::/32"
  bool operator==(const Cidr&) const = default;
};

// "192.0.2.0/24", "2001:db8::/32", or a bare address (a /32 or /128). Host bits must be zero
// (192.0.2.1/24 is refused with a hint) so that what the operator wrote is what the kernel matches.
Result<Cidr> parse_cidr(std::string_view text);

// A policy destination: CIDR with an optional port. IPv6 with a port needs brackets:
// "192.0.2.0/24:443", "192.0.2.7", "[2001:db8::/32]:5061", "2001:db8::/32".
struct DstMatch {
  Cidr cidr;
  std::uint16_t port = 0;  // 0: any port

  std::string to_string() const;
  bool operator==(const DstMatch&) const = default;
};
Result<DstMatch> parse_dst(std::string_view text);

// A TCP/UDP port 1..65535 written in decimal.
Result<std::uint16_t> parse_port(std::string_view text);

}  // namespace wb::config
