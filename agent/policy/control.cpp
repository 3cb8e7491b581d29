#include "agent/policy/control.h"

#include <ctime>

namespace wb::policy {

namespace {

using nlohmann::json;

Error bad(std::string message) {
  return make_error(std::errc::invalid_argument, std::move(message));
}

std::string iso8601(Clock::time_point t) {
  const std::time_t secs = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

json rule_json(const Rule& r) {
  json j{{"id", r.id}, {"action", to_string(r.action)}};
  if (r.match.sni) j["sni"] = r.match.sni->text();
  if (r.match.dst) {
    std::string dst = r.match.dst->to_string();
    if (r.match.port != 0) {
      dst = r.match.dst->network.is_v4() ? dst + ":" + std::to_string(r.match.port)
                                         : "[" + dst + "]:" + std::to_string(r.match.port);
    }
    j["dst"] = dst;
  }
  return j;
}

json detect_json(const Policy& p) {
  json j = json::object();
  for (std::size_t i = 0; i < kDetectCount; ++i) {
    const auto d = static_cast<Detect>(i);
    j[std::string(to_string(d))] = p.detect(d);
  }
  return j;
}

// A string argument, or an error naming it.
Result<std::string> string_arg(const json& args, const char* name) {
  const auto it = args.find(name);
  if (it == args.end() || !it->is_string())
    return bad(std::string("missing string argument '") + name + "'");
  return it->get<std::string>();
}

Result<json> add_rule(Policy& policy, const json& args) {
  const bool has_sni = args.contains("sni");
  const bool has_dst = args.contains("dst");
  if (has_sni == has_dst) return bad("give exactly one of --sni PATTERN or --dst CIDR[:PORT]");
  WB_TRY_ASSIGN(std::string action_text, string_arg(args, "action"));
  WB_TRY_ASSIGN(Action action, parse_action(action_text));
  Match match;
  if (has_sni) {
    WB_TRY_ASSIGN(std::string sni, string_arg(args, "sni"));
    WB_TRY_ASSIGN(match.sni, SniPattern::parse(sni));
  } else {
    WB_TRY_ASSIGN(std::string dst, string_arg(args, "dst"));
    WB_TRY_ASSIGN(match, parse_dst_match(dst));
  }
  WB_TRY_ASSIGN(std::uint32_t id, policy.add_rule(std::move(match), action));
  for (const auto& r : policy.rules()) {
    if (r.id == id) return json{{"rule", rule_json(r)}};
  }
  return json{{"rule", {{"id", id}}}};
}

Result<json> del_rule(Policy& policy, const json& args) {
  const auto it = args.find("id");
  if (it == args.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) {
    return bad("missing rule id");
  }
  const auto id = it->get<std::uint64_t>();
  if (id > UINT32_MAX || !policy.remove_rule(static_cast<std::uint32_t>(id))) {
    return make_error(std::errc::no_such_file_or_directory, "no policy rule " + std::to_string(id));
  }
  return json{{"deleted", id}};
}

Result<json> set_detect(Policy& policy, const json& args) {
  WB_TRY_ASSIGN(std::string name, string_arg(args, "protocol"));
  WB_TRY_ASSIGN(Detect d, parse_detect(name));
  const auto on = args.find("enabled");
  if (on == args.end() || !on->is_boolean()) return bad("missing boolean argument 'enabled'");
  policy.set_detect(d, on->get<bool>());
  return json{{"detect", detect_json(policy)}};
}

json list_tunnels(Policy& policy, Clock::time_point now) {
  json list = json::array();
  for (const auto& t : policy.learned().list(now)) {
    list.push_back(
        {{"sni", t.key.sni},
         {"destination", t.key.destination.to_string()},
         {"reason", to_string(t.reason)},
         {"detail", t.detail},
         {"learned", iso8601(t.learned)},
         {"expires", iso8601(t.expires)},
         {"expires_in", std::chrono::duration_cast<std::chrono::seconds>(t.expires - now).count()},
         {"hits", t.hits}});
  }
  return json{{"ttl_seconds", policy.learned().ttl().count()}, {"tunnels", std::move(list)}};
}

json stats(const Policy& policy) {
  const auto c = policy.counters();
  return json{{"undetected_denied", c.undetected_denied},
              {"undetected_allowed", c.undetected_allowed},
              {"tunnelled_by_rule", c.tunnelled_by_rule},
              {"tunnelled_learned", c.tunnelled_learned},
              {"tunnelled_detection_off", c.tunnelled_detection_off},
              {"denied_by_rule", c.denied_by_rule},
              {"learned", c.learned},
              {"tunnel_on_error", policy.tunnel_on_error()}};
}

}  // namespace

const std::vector<std::string_view>& control_commands() {
  static const std::vector<std::string_view> names = {
      "policy.list", "policy.add",   "policy.del",    "detect.list",
      "detect.set",  "tunnels.list", "tunnels.flush", "policy.stats"};
  return names;
}

Result<json> handle_control(Policy& policy, std::string_view command, const json& args,
                            Clock::time_point now) {
  const json& a = args.is_object() ? args : json::object();
  if (!args.is_null() && !args.is_object()) return bad("arguments must be a JSON object");
  if (command == "policy.list") {
    json rules = json::array();
    for (const auto& r : policy.rules()) rules.push_back(rule_json(r));
    return json{{"rules", std::move(rules)}};
  }
  if (command == "policy.add") return add_rule(policy, a);
  if (command == "policy.del") return del_rule(policy, a);
  if (command == "detect.list") return json{{"detect", detect_json(policy)}};
  if (command == "detect.set") return set_detect(policy, a);
  if (command == "tunnels.list") return list_tunnels(policy, now);
  if (command == "tunnels.flush") return json{{"flushed", policy.learned().flush()}};
  if (command == "policy.stats") return stats(policy);
  return bad("unknown policy command '" + std::string(command) + "'");
}

Result<std::unique_ptr<Policy>> policy_from_config(const config::Config& cfg) {
  PolicySettings s;
  for (const auto& rule : cfg.policy) {
    PolicySettings::RuleSpec spec;
    if (rule.has_dst) {
      spec.dst = rule.dst.to_string();
    } else {
      spec.sni = rule.sni;
    }
    spec.action = std::string(config::to_string(rule.action));
    s.rules.push_back(std::move(spec));
  }
  s.detect = {{"https", cfg.detect.https},
              {"sips", cfg.detect.sips},
              {"sip", cfg.detect.sip},
              {"ms-turn", cfg.detect.ms_turn}};
  s.tunnel_on_error = cfg.tunnel_on_error;
  s.learned_ttl = cfg.learned_tunnel_ttl;
  return Policy::create(s);
}

}  // namespace wb::policy
