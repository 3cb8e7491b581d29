#include "agent/policy/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace wb::policy {

namespace {
constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
}  // namespace

IpAddress IpAddress::from_v4(const in_addr& a) {
  IpAddress ip;
  std::memcpy(ip.bytes.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size());
  std::memcpy(ip.bytes.data() + 12, &a.s_addr, 4);
  return ip;
}

IpAddress IpAddress::from_v6(const in6_addr& a) {
  IpAddress ip;
  std::memcpy(ip.bytes.data(), a.s6_addr, 16);
  return ip;
}

Result<IpAddress> IpAddress::from_sockaddr(const sockaddr* sa) {
  if (sa == nullptr) return make_error(std::errc::invalid_argument, "no address");
  if (sa->sa_family == AF_INET) {
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof sin);
    return from_v4(sin.sin_addr);
  }
  if (sa->sa_family == AF_INET6) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof sin6);
    return from_v6(sin6.sin6_addr);
  }
  return make_error(std::errc::address_family_not_supported, "address family");
}

Result<IpAddress> IpAddress::parse(std::string_view text) {
  // inet_pton needs a NUL-terminated string; addresses are short, so bound the copy.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) {
    return make_error(std::errc::invalid_argument, "bad IP address '" + std::string(text) + "'");
  }
  std::string s(text);
  in_addr v4;
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) return from_v4(v4);
  in6_addr v6;
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) return from_v6(v6);
  return make_error(std::errc::invalid_argument, "bad IP address '" + s + "'");
}

bool IpAddress::is_v4() const {
  return std::memcmp(bytes.data(), kV4MappedPrefix.data(), kV4MappedPrefix.size()) == 0;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    inet_ntop(AF_INET, bytes.data() + 12, buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  }
  return buf;
}

std::string Destination::to_string() const {
  if (address.is_v4()) return address.to_string() + ":" + std::to_string(port);
  return "[" + address.to_string() + "]:" + std::to_string(port);
}

Result<Cidr> Cidr::parse(std::string_view text) {
  const auto slash = text.find('/');
  WB_TRY_ASSIGN(IpAddress network, IpAddress::parse(text.substr(0, slash)));
  const unsigned max_bits = network.is_v4() ? 32 : 128;
  unsigned bits = max_bits;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        bits > max_bits) {
      return make_error(std::errc::invalid_argument,
                        "bad prefix length in '" + std::string(text) + "'");
    }
  }
  Cidr cidr;
  cidr.prefix = static_cast<std::uint8_t>(network.is_v4() ? bits + 96 : bits);
  // Normalise: clear host bits so equal prefixes compare equal and print canonically.
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned first_bit = i * 8;
    std::uint8_t mask = 0;
    if (first_bit + 8 <= cidr.prefix) {
      mask = 0xff;
    } else if (first_bit < cidr.prefix) {
      mask = static_cast<std::uint8_t>(0xff << (8 - (cidr.prefix - first_bit)));
    }
    cidr.network.bytes[i] = network.bytes[i] & mask;
  }
  return cidr;
}

bool Cidr::contains(const IpAddress& address) const {
  const unsigned full = prefix / 8;
  if (std::memcmp(address.bytes.data(), network.bytes.data(), full) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xff << (8 - rest));
  return (address.bytes[full] & mask) == network.bytes[full];
}

std::string Cidr::to_string() const {
  const unsigned bits = network.is_v4() && prefix >= 96 ? prefix - 96u : prefix;
  return network.to_string() + "/" + std::to_string(bits);
}

}  // namespace wb::policy
