#include "agent/config/names.h"

#include <net/if.h>

namespace wb::config {
namespace {

Error invalid(std::string what) {
  return make_error(std::errc::invalid_argument, std::move(what));
}

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

// RFC 1123 host name: labels of 1..63 letters/digits/hyphens, not starting or ending with '-',
// at most 253 bytes in all. Underscores are tolerated in SNI matching only (see below).
bool is_hostname(std::string_view name, bool allow_underscore) {
  if (name.empty() || name.size() > 253) return false;
  if (name.back() == '.') name.remove_suffix(1);  // a fully qualified trailing dot
  std::size_t start = 0;
  while (start <= name.size()) {
    auto end = name.find('.', start);
    if (end == std::string_view::npos) end = name.size();
    auto label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!is_label_char(c) && !(allow_underscore && c == '_')) return false;
    }
    start = end + 1;
  }
  return true;
}

}  // namespace

Status check_ifname(std::string_view name) {
  const std::string quoted = "'" + std::string(name) + "'";
  if (name.empty()) return invalid("empty interface name");
  if (name.size() >= IFNAMSIZ) {
    return invalid(quoted + " is not an interface name (at most " + std::to_string(IFNAMSIZ - 1) +
                   " characters)");
  }
  if (name == "." || name == "..") return invalid(quoted + " is not an interface name");
  for (unsigned char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c >= 0x7f) {
      return invalid(quoted + " is not an interface name (no '/', ':', spaces or control bytes)");
    }
  }
  return {};
}

Status check_sni_pattern(std::string_view pattern) {
  const std::string quoted = "'" + std::string(pattern) + "'";
  std::string_view name = pattern;
  if (name.size() >= 2 && name.substr(0, 2) == "*.") name.remove_prefix(2);
  if (name.find('*') != std::string_view::npos) {
    return invalid(quoted + ": only one leading '*.' wildcard is allowed (e.g. *.example.com)");
  }
  if (!is_hostname(name, true)) {
    return invalid(quoted + " is not a server name (e.g. www.example.com or *.example.com)");
  }
  return {};
}

}  // namespace wb::config
