// Interception rules: match a connection by SNI (exact or `*.suffix` wildcard), destination CIDR
// and port, and choose what to do with it. First match in rule order wins; no match means the
// default action, intercept.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/common/result.h"
#include "agent/policy/address.h"

namespace wb::policy {

enum class Action : std::uint8_t {
  kIntercept,        // terminate TLS both ways, detect the protocol, hand off (default)
  kTunnel,           // relay untouched
  kDeny,             // close the connection
  kAllowUndetected,  // intercept, and let a protocol nobody detects through (Policy 2 exception)
};

std::string_view to_string(Action action);
// "intercept" | "tunnel" | "deny" | "allow-undetected"
Result<Action> parse_action(std::string_view text);

// A host-name pattern: "www.example.com" (exact) or "*.example.com" (any name with at least one
// more label in front; not example.com itself). Case-insensitive, a trailing dot is ignored.
class SniPattern {
 public:
  static Result<SniPattern> parse(std::string_view text);
  bool matches(std::string_view sni) const;
  const std::string& text() const { return text_; }
  bool operator==(const SniPattern&) const = default;

 private:
  std::string text_;  // normalised (lower case, no trailing dot)
  bool wildcard_ = false;
  std::string suffix_;  // ".example.com" for a wildcard
};

struct Match {
  std::optional<SniPattern> sni;  // absent: any SNI (also none)
  std::optional<Cidr> dst;        // absent: any destination address
  std::uint16_t port = 0;         // 0: any port

  bool empty() const { return !sni && !dst && port == 0; }
  bool matches(std::string_view sni_value, const Destination& destination) const;
  // "sni=*.example.com dst=192.0.2.0/24 port=443"
  std::string describe() const;
};

struct Rule {
  std::uint32_t id = 0;
  Match match;
  Action action = Action::kIntercept;
};

// Parses "CIDR[:PORT]" / "[v6-CIDR]:PORT" as the CLI's `--dst` and the config's `dst` give it
// (config::parse_dst does the validation).
Result<Match> parse_dst_match(std::string_view text);

// An ordered list of rules with stable ids. Not thread-safe on its own (Policy locks it).
class RuleSet {
 public:
  // Returns the new rule's id. Rejects a match with nothing in it.
  Result<std::uint32_t> add(Match match, Action action);
  bool remove(std::uint32_t id);
  const std::vector<Rule>& rules() const { return rules_; }
  // The first rule that matches, if any.
  const Rule* find(std::string_view sni, const Destination& destination) const;

 private:
  std::vector<Rule> rules_;
  std::uint32_t next_id_ = 1;
};

}  // namespace wb::policy
