#include "agent/config/cidr.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <charconv>

namespace wb::config {
namespace {

Error invalid(std::string what) {
  return make_error(std::errc::invalid_argument, std::move(what));
}

bool parse_decimal(std::string_view text, unsigned max, unsigned& out) {
  if (text.empty() || text.size() > 10) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > max) return false;
  out = value;
  return true;
}

}  // namespace

std::string Cidr::to_string() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, addr.data(), buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(prefix);
}

Result<Cidr> parse_cidr(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  if (text.empty()) return invalid("empty CIDR (expected e.g. 192.0.2.0/24 or 2001:db8::/32)");
  if (text.size() > INET6_ADDRSTRLEN + 4) return invalid(quoted + " is not a CIDR (too long)");
  auto slash = text.find('/');
  std::string address(text.substr(0, slash));
  Cidr cidr;
  if (inet_pton(AF_INET, address.c_str(), cidr.addr.data()) == 1) {
    cidr.family = AF_INET;
  } else if (inet_pton(AF_INET6, address.c_str(), cidr.addr.data()) == 1) {
    cidr.family = AF_INET6;
  } else {
    return invalid(quoted + " is not a CIDR: '" + address + "' is not an IPv4 or IPv6 address");
  }
  const unsigned bits = cidr.family == AF_INET ? 32 : 128;
  unsigned prefix = bits;
  if (slash != std::string_view::npos && !parse_decimal(text.substr(slash + 1), bits, prefix)) {
    return invalid(quoted + " is not a CIDR: the prefix length must be 0.." + std::to_string(bits));
  }
  cidr.prefix = static_cast<std::uint8_t>(prefix);
  // Host bits set: refuse with the network the operator probably meant.
  Cidr network = cidr;
  for (unsigned bit = prefix; bit < bits; ++bit) {
    network.addr[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
  if (network.addr != cidr.addr) {
    return invalid(quoted + " has host bits set (did you mean " + network.to_string() + "?)");
  }
  return cidr;
}

std::string DstMatch::to_string() const {
  if (port == 0) return cidr.to_string();
  if (cidr.family == AF_INET6) return "[" + cidr.to_string() + "]:" + std::to_string(port);
  return cidr.to_string() + ":" + std::to_string(port);
}

Result<DstMatch> parse_dst(std::string_view text) {
  DstMatch dst;
  std::string_view cidr_text = text;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) {
      return invalid("'" + std::string(text) + "': missing ']' (write [2001:db8::/32]:443)");
    }
    cidr_text = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return invalid("'" + std::string(text) + "': expected ':PORT' after ']'");
      }
      port_text = rest.substr(1);
      if (port_text.empty()) return invalid("'" + std::string(text) + "': empty port after ':'");
    }
  } else if (auto colon = text.find(':'); colon != std::string_view::npos &&
                                          text.find(':', colon + 1) == std::string_view::npos) {
    // Exactly one colon: IPv4 with a port. Several colons: bare IPv6 without a port.
    cidr_text = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (port_text.empty()) return invalid("'" + std::string(text) + "': empty port after ':'");
  }
  WB_TRY_ASSIGN(dst.cidr, parse_cidr(cidr_text));
  if (!port_text.empty()) {
    WB_TRY_ASSIGN(dst.port, parse_port(port_text));
  }
  return dst;
}

Result<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  if (!parse_decimal(text, 65535, value) || value == 0) {
    return invalid("'" + std::string(text) + "' is not a port (expected 1..65535)");
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace wb::config
