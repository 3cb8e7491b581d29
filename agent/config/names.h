// Validation of the names an operator writes (interfaces, host names, SNI patterns, protocols),
// shared by the config parser and the CLI so both refuse the same things with the same words.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "agent/common/result.h"

namespace wb::config {

// A Linux interface name: 1..15 bytes, no '/', ':' or whitespace, not "." or "..".
Status check_ifname(std::string_view name);

// A policy SNI pattern: a host name, or "*." followed by a host name (one leftmost wildcard).
Status check_sni_pattern(std::string_view pattern);

// Protocols whose detection can be switched ([detect] in the config, `wirebump detect`).
inline constexpr std::array<std::string_view, 4> kDetectProtocols = {"https", "sips", "sip",
                                                                     "ms-turn"};
// Policy actions ([[policy]] action, `wirebump policy add --action`).
inline constexpr std::array<std::string_view, 4> kPolicyActions = {"intercept", "tunnel", "deny",
                                                                   "allow-undetected"};

// "a, b or c" for error messages.
template <class Names>
std::string one_of(const Names& names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i != 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

template <class Names>
bool is_one_of(const Names& names, std::string_view value) {
  for (auto name : names) {
    if (name == value) return true;
  }
  return false;
}

}  // namespace wb::config
