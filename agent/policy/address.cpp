#include "agent/policy/address.h"

#include <arpa/inet.h>

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
  WB_TRY_ASSIGN(config::Cidr parsed, config::parse_cidr(text));
  return from_config(parsed);
}

Cidr Cidr::from_config(const config::Cidr& cidr) {
  Cidr out;
  if (cidr.family == AF_INET) {
    in_addr a;
    std::memcpy(&a.s_addr, cidr.addr.data(), 4);
    out.network = IpAddress::from_v4(a);
    out.prefix = static_cast<std::uint8_t>(cidr.prefix + 96);
  } else {
    std::memcpy(out.network.bytes.data(), cidr.addr.data(), 16);
    out.prefix = cidr.prefix;
  }
  return out;
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
