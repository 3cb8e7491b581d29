#include "agent/policy/policy.h"

#include <algorithm>

namespace wb::policy {

namespace {

constexpr std::string_view kDetectNames[kDetectCount] = {"https", "sips", "sip", "ms-turn"};

// "policy tunnel: rule 3 (sni=*.bank.example)": what a session relayed or refused by an
// operator's rule records, and the end-of-session line logs.
std::string rule_reason(const Rule& rule) {
  return "policy " + std::string(to_string(rule.action)) + ": rule " + std::to_string(rule.id) +
         " (" + rule.match.describe() + ")";
}

std::string detection_off(Detect d) {
  return "detection off: " + std::string(to_string(d));
}

bool alpn_says_http(std::span<const std::string> alpn) {
  return std::any_of(alpn.begin(), alpn.end(),
                     [](const std::string& p) { return p == "h2" || p.starts_with("http/"); });
}

}  // namespace

std::string_view to_string(Detect d) {
  return kDetectNames[static_cast<std::size_t>(d)];
}

Result<Detect> parse_detect(std::string_view text) {
  for (std::size_t i = 0; i < kDetectCount; ++i) {
    if (text == kDetectNames[i]) return static_cast<Detect>(i);
  }
  return make_error(std::errc::invalid_argument, "unknown protocol '" + std::string(text) +
                                                     "' (expected https, sips, sip or ms-turn)");
}

Policy::Policy() {
  for (auto& d : detect_) d.store(true);
}

Result<std::unique_ptr<Policy>> Policy::create(const PolicySettings& settings) {
  auto policy = std::make_unique<Policy>();
  for (std::size_t i = 0; i < settings.rules.size(); ++i) {
    const auto& spec = settings.rules[i];
    const auto where = "policy rule " + std::to_string(i + 1);
    Match match;
    if (!spec.dst.empty()) {
      auto dst = parse_dst_match(spec.dst);
      if (!dst) return dst.error().wrap(where);
      match = *dst;
    }
    if (!spec.sni.empty()) {
      auto sni = SniPattern::parse(spec.sni);
      if (!sni) return sni.error().wrap(where);
      match.sni = *sni;
    }
    auto action = parse_action(spec.action);
    if (!action) return action.error().wrap(where);
    auto id = policy->add_rule(std::move(match), *action);
    if (!id) return id.error().wrap(where);
  }
  for (const auto& [name, on] : settings.detect) {
    auto d = parse_detect(name);
    if (!d) return d.error().wrap("detect");
    policy->set_detect(*d, on);
  }
  policy->set_tunnel_on_error(settings.tunnel_on_error);
  policy->set_deny_unknown_plaintext(settings.deny_unknown_plaintext);
  policy->learned_.set_ttl(settings.learned_ttl);
  policy->learned_.set_capacity(settings.learned_capacity);
  return policy;
}

std::optional<Decision> Policy::rule_decision(std::string_view sni, const Destination& dst) {
  std::shared_lock lock(rules_mu_);
  const Rule* rule = rules_.find(sni, dst);
  if (rule == nullptr) return std::nullopt;
  Decision d;
  d.reason = rule_reason(*rule);
  switch (rule->action) {
    case Action::kIntercept:
      d.kind = Decision::Kind::kIntercept;
      break;
    case Action::kAllowUndetected:
      d.kind = Decision::Kind::kIntercept;
      d.allow_undetected = true;
      break;
    case Action::kTunnel:
      d.kind = Decision::Kind::kTunnel;
      d.label = Label::kTunnel;
      counters_.tunnelled_by_rule.fetch_add(1, std::memory_order_relaxed);
      break;
    case Action::kDeny:
      d.kind = Decision::Kind::kDeny;
      counters_.denied_by_rule.fetch_add(1, std::memory_order_relaxed);
      break;
  }
  return d;
}

Decision Policy::decide_tls(std::string_view sni, std::span<const std::string> alpn,
                            const Destination& dst, Clock::time_point now) {
  // An explicit tunnel or deny rule is the operator's word and beats everything learned.
  auto by_rule = rule_decision(sni, dst);
  if (by_rule &&
      (by_rule->kind == Decision::Kind::kTunnel || by_rule->kind == Decision::Kind::kDeny)) {
    if (by_rule->kind == Decision::Kind::kDeny) by_rule->label = Label::kUnknown;
    return *by_rule;
  }
  if (auto hit = learned_.lookup(make_learned_key(sni, dst), now)) {
    counters_.tunnelled_learned.fetch_add(1, std::memory_order_relaxed);
    std::string reason = "learned: " + std::string(to_string(hit->reason));
    if (!hit->detail.empty()) reason += " (" + hit->detail + ")";
    return Decision{Decision::Kind::kTunnel, Label::kTunnel, false, std::move(reason)};
  }
  // Detection switched off: tunnel from the first byte when the hello already tells us.
  if (!detect(Detect::kHttps) && alpn_says_http(alpn)) {
    counters_.tunnelled_detection_off.fetch_add(1, std::memory_order_relaxed);
    return Decision{Decision::Kind::kTunnel, Label::kTunnel, false,
                    detection_off(Detect::kHttps) + " (ALPN)"};
  }
  if (!detect(Detect::kSips) && dst.port == 5061) {
    counters_.tunnelled_detection_off.fetch_add(1, std::memory_order_relaxed);
    return Decision{Decision::Kind::kTunnel, Label::kTunnel, false,
                    detection_off(Detect::kSips) + " (port 5061)"};
  }
  if (by_rule) return *by_rule;
  return Decision{Decision::Kind::kIntercept, Label::kUnknown, false, "default"};
}

Decision Policy::decide_plaintext(FirstBytes kind, const Destination& dst) {
  auto by_rule = rule_decision({}, dst);
  if (by_rule &&
      (by_rule->kind == Decision::Kind::kTunnel || by_rule->kind == Decision::Kind::kDeny)) {
    return *by_rule;
  }
  auto inspect_or_tunnel = [this](Detect d, Label label) {
    if (detect(d)) return Decision{Decision::Kind::kInspect, label, false, "detected"};
    counters_.tunnelled_detection_off.fetch_add(1, std::memory_order_relaxed);
    return Decision{Decision::Kind::kTunnel, Label::kTunnel, false, detection_off(d)};
  };
  switch (kind) {
    case FirstBytes::kTls:
      return Decision{Decision::Kind::kIntercept, Label::kUnknown, false, "tls"};
    case FirstBytes::kPseudoTls:
    case FirstBytes::kMsTurnFraming:
      return inspect_or_tunnel(Detect::kMsTurn, Label::kMsTurn);
    case FirstBytes::kStunTurn:
      return inspect_or_tunnel(Detect::kMsTurn, Label::kTurn);
    case FirstBytes::kSip:
      return inspect_or_tunnel(Detect::kSip, Label::kSip);
    case FirstBytes::kHttp:
      return Decision{Decision::Kind::kInspect, Label::kHttp, false, "detected"};
    case FirstBytes::kUnknown:
      break;
  }
  const bool allowed = by_rule && by_rule->allow_undetected;
  if (deny_unknown_plaintext_.load() && !allowed) {
    return Decision{Decision::Kind::kDeny, Label::kUnknown, false, "undetected plaintext protocol"};
  }
  return Decision{Decision::Kind::kTunnel, Label::kUnknown, false,
                  allowed ? by_rule->reason : "undetected plaintext protocol relayed"};
}

Decision Policy::decide_inner(Inner inner, std::string_view sni, const Destination& dst,
                              bool allow_undetected, Clock::time_point now) {
  auto inspect_or_pass = [&](Detect d, Label label) {
    if (detect(d)) return Decision{Decision::Kind::kInspect, label, false, "detected"};
    // Too late to tunnel this connection untouched (the client holds our certificate): pass the
    // decrypted bytes through uninspected and tunnel the next ones from the first byte.
    counters_.tunnelled_detection_off.fetch_add(1, std::memory_order_relaxed);
    learn_failure(sni, dst, LearnReason::kDetectionOff, detection_off(d), now);
    return Decision{Decision::Kind::kTunnel, Label::kTunnel, false, detection_off(d)};
  };
  switch (inner) {
    case Inner::kHttp:
      return inspect_or_pass(Detect::kHttps, Label::kHttps);
    case Inner::kSip:
      return inspect_or_pass(Detect::kSips, Label::kSips);
    case Inner::kMsTurn:
      return inspect_or_pass(Detect::kMsTurn, Label::kMsTurn);
    case Inner::kTurn:
      return inspect_or_pass(Detect::kMsTurn, Label::kTurn);
    case Inner::kUndetected:
      break;
  }
  if (!allow_undetected) {
    if (auto by_rule = rule_decision(sni, dst)) allow_undetected = by_rule->allow_undetected;
  }
  if (allow_undetected) {
    counters_.undetected_allowed.fetch_add(1, std::memory_order_relaxed);
    return Decision{Decision::Kind::kTunnel, Label::kUnknown, true,
                    "undetected protocol allowed by policy"};
  }
  counters_.undetected_denied.fetch_add(1, std::memory_order_relaxed);
  return Decision{Decision::Kind::kDeny, Label::kUnknown, false, "undetected protocol inside TLS"};
}

void Policy::learn_failure(std::string_view sni, const Destination& dst, LearnReason reason,
                           std::string detail, Clock::time_point now) {
  counters_.learned.fetch_add(1, std::memory_order_relaxed);
  learned_.learn(make_learned_key(sni, dst), reason, std::move(detail), now);
}

Result<std::uint32_t> Policy::add_rule(Match match, Action action) {
  std::unique_lock lock(rules_mu_);
  return rules_.add(std::move(match), action);
}

bool Policy::remove_rule(std::uint32_t id) {
  std::unique_lock lock(rules_mu_);
  return rules_.remove(id);
}

std::vector<Rule> Policy::rules() const {
  std::shared_lock lock(rules_mu_);
  return rules_.rules();
}

void Policy::set_detect(Detect d, bool on) {
  detect_[static_cast<std::size_t>(d)].store(on);
  if (on) learned_.flush_if(LearnReason::kDetectionOff, detection_off(d));
}

PolicyCounters Policy::counters() const {
  PolicyCounters c;
  c.undetected_denied = counters_.undetected_denied.load();
  c.undetected_allowed = counters_.undetected_allowed.load();
  c.tunnelled_by_rule = counters_.tunnelled_by_rule.load();
  c.tunnelled_learned = counters_.tunnelled_learned.load();
  c.tunnelled_detection_off = counters_.tunnelled_detection_off.load();
  c.denied_by_rule = counters_.denied_by_rule.load();
  c.learned = counters_.learned.load();
  return c;
}

}  // namespace wb::policy
