#include "agent/policy/rules.h"

#include <algorithm>
#include <cctype>

namespace wb::policy {

namespace {

constexpr std::size_t kMaxRules = 4096;  // bounds memory and per-connection matching cost

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view strip_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

bool valid_host_label_chars(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

bool iequals_suffix(std::string_view name, std::string_view suffix) {
  if (name.size() < suffix.size()) return false;
  const auto tail = name.substr(name.size() - suffix.size());
  return std::equal(tail.begin(), tail.end(), suffix.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
}

}  // namespace

std::string_view to_string(Action action) {
  switch (action) {
    case Action::kIntercept:
      return "intercept";
    case Action::kTunnel:
      return "tunnel";
    case Action::kDeny:
      return "deny";
    case Action::kAllowUndetected:
      return "allow-undetected";
  }
  return "intercept";
}

Result<Action> parse_action(std::string_view text) {
  for (auto a : {Action::kIntercept, Action::kTunnel, Action::kDeny, Action::kAllowUndetected}) {
    if (text == to_string(a)) return a;
  }
  return make_error(std::errc::invalid_argument,
                    "unknown action '" + std::string(text) +
                        "' (expected intercept, tunnel, deny or allow-undetected)");
}

Result<SniPattern> SniPattern::parse(std::string_view text) {
  const auto name = strip_dot(text);
  const bool wildcard = name.starts_with("*.");
  const auto rest = wildcard ? name.substr(2) : name;
  if (rest.empty() || rest.size() > 253 || !valid_host_label_chars(rest) ||
      rest.find("..") != std::string_view::npos || rest.front() == '.') {
    return make_error(std::errc::invalid_argument, "bad SNI pattern '" + std::string(text) +
                                                       "' (expected host.name or *.domain.name)");
  }
  SniPattern p;
  p.text_ = lower(name);
  p.wildcard_ = wildcard;
  if (wildcard) p.suffix_ = p.text_.substr(1);
  return p;
}

bool SniPattern::matches(std::string_view sni) const {
  sni = strip_dot(sni);
  if (sni.empty()) return false;
  if (!wildcard_) {
    return sni.size() == text_.size() && iequals_suffix(sni, text_);
  }
  // "*.example.com" needs something in front of ".example.com".
  return sni.size() > suffix_.size() && iequals_suffix(sni, suffix_);
}

bool Match::matches(std::string_view sni_value, const Destination& destination) const {
  if (sni && !sni->matches(sni_value)) return false;
  if (dst && !dst->contains(destination.address)) return false;
  if (port != 0 && port != destination.port) return false;
  return true;
}

std::string Match::describe() const {
  std::string out;
  auto add = [&out](const std::string& part) {
    if (!out.empty()) out += ' ';
    out += part;
  };
  if (sni) add("sni=" + sni->text());
  if (dst) add("dst=" + dst->to_string());
  if (port != 0) add("port=" + std::to_string(port));
  return out;
}

Result<Match> parse_dst_match(std::string_view text) {
  WB_TRY_ASSIGN(config::DstMatch parsed, config::parse_dst(text));
  Match m;
  m.dst = Cidr::from_config(parsed.cidr);
  m.port = parsed.port;
  return m;
}

Result<std::uint32_t> RuleSet::add(Match match, Action action) {
  if (match.empty()) {
    return make_error(std::errc::invalid_argument, "a rule needs an SNI, a destination or a port");
  }
  if (rules_.size() >= kMaxRules) {
    return make_error(std::errc::no_buffer_space, "too many policy rules (max 4096)");
  }
  const auto id = next_id_++;
  rules_.push_back(Rule{id, std::move(match), action});
  return id;
}

bool RuleSet::remove(std::uint32_t id) {
  const auto it =
      std::find_if(rules_.begin(), rules_.end(), [id](const Rule& r) { return r.id == id; });
  if (it == rules_.end()) return false;
  rules_.erase(it);
  return true;
}

const Rule* RuleSet::find(std::string_view sni, const Destination& destination) const {
  for (const auto& rule : rules_) {
    if (rule.match.matches(sni, destination)) return &rule;
  }
  return nullptr;
}

}  // namespace wb::policy
