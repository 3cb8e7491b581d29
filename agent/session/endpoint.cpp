#include "agent/session/endpoint.h"

#include <arpa/inet.h>

#include <cstring>

namespace wb::session {

Endpoint Endpoint::from_sockaddr(const sockaddr* address, socklen_t length) {
  Endpoint endpoint;
  if (address == nullptr) return endpoint;
  if (address->sa_family == AF_INET && length >= sizeof(sockaddr_in)) {
    std::memcpy(&endpoint.storage_, address, sizeof(sockaddr_in));
  } else if (address->sa_family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    std::memcpy(&endpoint.storage_, address, sizeof(sockaddr_in6));
  }
  return endpoint;
}

Result<Endpoint> Endpoint::parse(std::string_view text) {
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return make_error(std::errc::invalid_argument, "endpoint '" + std::string(text) + "'");
    }
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return make_error(std::errc::invalid_argument, "endpoint '" + std::string(text) + "'");
    }
    host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  unsigned port = 0;
  if (port_text.empty() || port_text.size() > 5) {
    return make_error(std::errc::invalid_argument, "port in '" + std::string(text) + "'");
  }
  for (char c : port_text) {
    if (c < '0' || c > '9') {
      return make_error(std::errc::invalid_argument, "port in '" + std::string(text) + "'");
    }
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port > 65535) {
    return make_error(std::errc::invalid_argument, "port in '" + std::string(text) + "'");
  }
  Endpoint endpoint;
  auto* v4 = &endpoint.storage_.v4;
  auto* v6 = &endpoint.storage_.v6;
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<std::uint16_t>(port));
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<std::uint16_t>(port));
  } else {
    return make_error(std::errc::invalid_argument, "address in '" + std::string(text) + "'");
  }
  return endpoint;
}

Endpoint Endpoint::loopback_v4(std::uint16_t port) {
  Endpoint endpoint;
  auto* v4 = &endpoint.storage_.v4;
  v4->sin_family = AF_INET;
  v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  v4->sin_port = htons(port);
  return endpoint;
}

std::uint16_t Endpoint::port() const {
  if (storage_.any.sa_family == AF_INET) {
    return ntohs(storage_.v4.sin_port);
  }
  if (storage_.any.sa_family == AF_INET6) {
    return ntohs(storage_.v6.sin6_port);
  }
  return 0;
}

Endpoint Endpoint::with_port(std::uint16_t port) const {
  Endpoint copy = *this;
  if (storage_.any.sa_family == AF_INET) {
    copy.storage_.v4.sin_port = htons(port);
  } else if (storage_.any.sa_family == AF_INET6) {
    copy.storage_.v6.sin6_port = htons(port);
  }
  return copy;
}

socklen_t Endpoint::length() const {
  if (storage_.any.sa_family == AF_INET) return sizeof(sockaddr_in);
  if (storage_.any.sa_family == AF_INET6) return sizeof(sockaddr_in6);
  return 0;
}

std::string Endpoint::address_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (storage_.any.sa_family == AF_INET) {
    inet_ntop(AF_INET, &storage_.v4.sin_addr, text, sizeof(text));
  } else if (storage_.any.sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &storage_.v6.sin6_addr, text, sizeof(text));
  } else {
    return "-";
  }
  return text;
}

std::string Endpoint::to_string() const {
  if (empty()) return "-";
  if (is_v6()) return "[" + address_string() + "]:" + std::to_string(port());
  return address_string() + ":" + std::to_string(port());
}

bool operator==(const Endpoint& a, const Endpoint& b) {
  if (a.storage_.any.sa_family != b.storage_.any.sa_family) return false;
  return std::memcmp(&a.storage_, &b.storage_, a.length()) == 0;
}

}  // namespace wb::session
