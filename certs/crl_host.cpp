// crl_host validation: what goes between "http://" and "/wirebump/..." in every forged
// certificate, so anything that would change the URL's meaning is refused with a clear reason.
#include "certs/crl_host.h"

#include <arpa/inet.h>

#include <cctype>

namespace wb::certs {
namespace {

Error bad_host(std::string_view host, const std::string& why) {
  std::string shown(host.substr(0, 80));
  if (host.size() > 80) shown += "...";
  // "crl_host: <value>: <why>", the same shape as every other config error after file:line:col.
  return make_error(std::errc::invalid_argument, "crl_host: \"" + shown + "\": " + why);
}

bool is_ipv4_literal(std::string_view s) {
  // inet_pton accepts exactly the dotted quad (no octal, no short forms).
  std::string copy(s);
  in_addr addr{};
  return inet_pton(AF_INET, copy.c_str(), &addr) == 1;
}

bool looks_numeric_dotted(std::string_view s) {
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return false;
  }
  return true;
}

}  // namespace

Result<std::string> validate_crl_host(std::string_view host) {
  if (host.empty()) return bad_host(host, "empty; give a host name or an IP address");
  if (host.find("://") != std::string_view::npos) {
    return bad_host(host, "has a URL scheme; give only the host name or IP (no http://)");
  }
  for (char c : host) {
    if (std::isspace(static_cast<unsigned char>(c))) return bad_host(host, "contains whitespace");
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return bad_host(host, "contains a control or non-ASCII character");
    }
  }
  if (host.find('/') != std::string_view::npos) {
    return bad_host(host, "has a path; give only the host name or IP (the path is fixed)");
  }
  if (host.find('@') != std::string_view::npos) return bad_host(host, "contains '@'");
  if (host.size() > 253 + 2) return bad_host(host, "longer than 253 characters");

  // IPv6: bracketed or bare (a bare one has at least two ':').
  bool bracketed = host.front() == '[';
  if (bracketed || host.find(':') != host.rfind(':')) {
    std::string_view inner = host;
    if (bracketed) {
      if (host.back() != ']') return bad_host(host, "'[' without closing ']' (or a port after it)");
      inner = host.substr(1, host.size() - 2);
    }
    if (inner.find('%') != std::string_view::npos) {
      return bad_host(host, "IPv6 zone ids are not allowed in URLs of certificates");
    }
    std::string copy(inner);
    in6_addr addr{};
    if (inet_pton(AF_INET6, copy.c_str(), &addr) != 1) {
      return bad_host(host, "not a valid IPv6 address");
    }
    char text[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, &addr, text, sizeof(text));
    return "[" + std::string(text) + "]";
  }
  if (host.find(':') != std::string_view::npos) {
    return bad_host(host, "has a port; the CRL is served on port 80, give only the host");
  }
  if (looks_numeric_dotted(host)) {
    if (!is_ipv4_literal(host)) return bad_host(host, "not a valid IPv4 address");
    return std::string(host);
  }

  std::string name(host);
  if (name.back() == '.') name.pop_back();
  if (name.empty()) return bad_host(host, "empty host name");
  if (name.size() > 253) return bad_host(host, "longer than 253 characters");
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    std::string_view label(name.data() + start, dot - start);
    if (label.empty()) return bad_host(host, "has an empty label (\"..\" or a leading dot)");
    if (label.size() > 63) return bad_host(host, "has a label longer than 63 characters");
    if (label.front() == '-' || label.back() == '-') {
      return bad_host(host, "has a label starting or ending with '-'");
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
        return bad_host(
            host, std::string("contains '") + c + "'; host names use letters, digits, '-' and '.'");
      }
    }
    start = dot + 1;
  }
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

RevocationUrls revocation_urls(std::string_view host, std::string_view id) {
  std::string base = "http://" + std::string(host) + "/wirebump/";
  std::string ids(id);
  return RevocationUrls{base + "crl/" + ids + ".crl", base + "ocsp", base + "ca/" + ids + ".crt",
                        base + "ca/" + ids + ".pem"};
}

}  // namespace wb::certs
