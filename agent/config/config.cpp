// The key table of wirebump.toml: each key's type, range and validation. deploy/wirebump.toml and
// the README "Configuration" section document the same keys; tests/config covers each one.
#include "agent/config/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <set>

#include "agent/config/config_reader.h"
#include "agent/config/names.h"
#include "certs/crl_host.h"

namespace wb::config {
namespace {

using detail::Reader;
using Fields = std::map<std::string, Reader::Field, std::less<>>;

constexpr std::array<std::string_view, 3> kXdpModes = {"off", "generic", "native"};
constexpr std::array<std::string_view, 2> kOnMax = {"refuse", "bypass"};
constexpr std::array<std::string_view, 2> kSipMalformed = {"relay", "deny"};
// The levels wb::log::parse_level accepts.
constexpr std::array<std::string_view, 6> kLogLevels = {"trace", "debug", "info",
                                                        "warn",  "error", "off"};
constexpr std::size_t kMaxCidrs = 4096;
constexpr std::size_t kMaxCandidatePorts = 64;
constexpr std::size_t kMaxPolicyRules = 4096;

// An integer key in min..max. `hint`, when given, follows a range error and says what the number
// means ("826 is out of range (1..825): days; ...").
template <class T>
Reader::Field integer_into(const Reader& r, T& out, std::int64_t min, std::int64_t max,
                           std::string hint = "") {
  return [&r, &out, min, max, hint = std::move(hint)](const toml::node& v,
                                                      const std::string& key) -> Status {
    auto value = r.integer(v, key, min, max);
    if (!value && !hint.empty() && v.as_integer() != nullptr) {  // range, not type
      return Error{value.error().code, value.error().context + ": " + hint};
    }
    if (!value) return value.error();
    out = static_cast<T>(*value);
    return {};
  };
}

Reader::Field seconds_into(const Reader& r, std::chrono::seconds& out, std::int64_t min,
                           std::int64_t max) {
  return [&r, &out, min, max](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(auto value, r.integer(v, key, min, max));
    out = std::chrono::seconds(value);
    return {};
  };
}

Reader::Field bool_into(const Reader& r, bool& out) {
  return [&r, &out](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(out, r.boolean(v, key));
    return {};
  };
}

Reader::Field path_into(const Reader& r, std::filesystem::path& out, bool allow_empty) {
  return [&r, &out, allow_empty](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(out, r.path(v, key, allow_empty));
    return {};
  };
}

// A sub-table ([limits], [timeouts], [detect]) walked with its own fields.
Reader::Field table_into(const Reader& r, Fields fields) {
  return [&r, fields = std::move(fields)](const toml::node& v, const std::string& key) -> Status {
    auto* table = v.as_table();
    if (table == nullptr) {
      return r.error_at(v, key, "expected a table, got " + std::string(detail::type_name(v)));
    }
    return r.walk(*table, key, fields);
  };
}

// Wraps a validator's message ("'x' is not ...") with the position of the offending value.
Status at(const Reader& r, const toml::node& v, const std::string& key, const Status& status) {
  if (status) return {};
  return r.error_at(v, key, status.error().context);
}

Reader::Field cidrs_into(const Reader& r, std::vector<Cidr>& out) {
  return [&r, &out](const toml::node& v, const std::string& key) -> Status {
    out.clear();
    return r.array(v, key, "CIDR strings", kMaxCidrs,
                   [&](const toml::node& item, std::size_t i) -> Status {
                     const std::string item_key = key + "[" + std::to_string(i) + "]";
                     WB_TRY_ASSIGN(auto text, r.string(item, item_key));
                     auto cidr = parse_cidr(text);
                     if (!cidr) return r.error_at(item, item_key, cidr.error().context);
                     if (std::find(out.begin(), out.end(), *cidr) != out.end()) {
                       return r.error_at(item, item_key, cidr->to_string() + " is listed twice");
                     }
                     out.push_back(*cidr);
                     return {};
                   });
  };
}

Status read_policy_rule(const Reader& r, const toml::node& v, const std::string& key,
                        PolicyRule& rule) {
  auto* table = v.as_table();
  if (table == nullptr) {
    return r.error_at(v, key,
                      "expected a table ([[policy]]), got " + std::string(detail::type_name(v)));
  }
  rule.line = static_cast<int>(v.source().begin.line);
  bool has_action = false;
  Fields fields;
  fields["sni"] = [&](const toml::node& n, const std::string& k) -> Status {
    WB_TRY_ASSIGN(rule.sni, r.string(n, k));
    return at(r, n, k, check_sni_pattern(rule.sni));
  };
  fields["dst"] = [&](const toml::node& n, const std::string& k) -> Status {
    WB_TRY_ASSIGN(auto text, r.string(n, k));
    auto dst = parse_dst(text);
    if (!dst) return r.error_at(n, k, dst.error().context);
    rule.dst = *dst;
    rule.has_dst = true;
    return {};
  };
  fields["action"] = [&](const toml::node& n, const std::string& k) -> Status {
    WB_TRY_ASSIGN(auto text, r.choice(n, k, kPolicyActions));
    WB_TRY_ASSIGN(rule.action, parse_policy_action(text));
    has_action = true;
    return {};
  };
  WB_TRY(r.walk(*table, key, fields));
  if (rule.sni.empty() == !rule.has_dst) {
    return r.error_at(v, key, "each rule needs exactly one of sni = \"...\" or dst = \"...\"");
  }
  if (!has_action) {
    return r.error_at(v, key, "missing action (" + one_of(kPolicyActions) + ")");
  }
  return {};
}

Status check_whole(const Reader& r, const Config& c) {
  if (std::find(c.ports.begin(), c.ports.end(), c.bridge) != c.ports.end()) {
    return r.error_at(toml::source_region{}, "ports",
                      "the bridge \"" + c.bridge + "\" cannot be one of its own ports");
  }
  if (c.limits.max_sessions_per_client > c.limits.max_sessions) {
    return r.error_at(toml::source_region{}, "limits.max_sessions_per_client",
                      std::to_string(c.limits.max_sessions_per_client) +
                          " is larger than limits.max_sessions (" +
                          std::to_string(c.limits.max_sessions) + ")");
  }
  return {};
}

}  // namespace

std::string_view to_string(XdpMode mode) {
  return kXdpModes[static_cast<int>(mode)];
}
std::string_view to_string(OnMaxSessions mode) {
  return kOnMax[static_cast<int>(mode)];
}
std::string_view to_string(SipMalformed mode) {
  return kSipMalformed[static_cast<int>(mode)];
}
std::string_view to_string(PolicyAction action) {
  return kPolicyActions[static_cast<int>(action)];
}

Result<PolicyAction> parse_policy_action(std::string_view text) {
  for (std::size_t i = 0; i < kPolicyActions.size(); ++i) {
    if (kPolicyActions[i] == text) return static_cast<PolicyAction>(i);
  }
  return make_error(std::errc::invalid_argument, "'" + std::string(text) +
                                                     "' is not a policy action (expected " +
                                                     one_of(kPolicyActions) + ")");
}

Result<Config> parse_config(std::string_view text, std::string_view source) {
  Reader r{std::string(source)};
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return r.error_at(e.source(), "", std::string(e.description()));
  }

  Config c;
  Fields fields;
  fields["bridge"] = [&](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(c.bridge, r.string(v, key));
    return at(r, v, key, check_ifname(c.bridge));
  };
  fields["ports"] = [&](const toml::node& v, const std::string& key) -> Status {
    c.ports.clear();
    WB_TRY(r.array(v, key, "interface names", 32,
                   [&](const toml::node& item, std::size_t i) -> Status {
                     const std::string item_key = key + "[" + std::to_string(i) + "]";
                     auto* s = item.as_string();
                     if (s == nullptr) {
                       return r.error_at(v, key, "expected an array of interface names");
                     }
                     WB_TRY(at(r, item, item_key, check_ifname(s->get())));
                     if (std::find(c.ports.begin(), c.ports.end(), s->get()) != c.ports.end()) {
                       return r.error_at(item, item_key, "\"" + s->get() + "\" is listed twice");
                     }
                     c.ports.push_back(s->get());
                     return {};
                   }));
    if (c.ports.empty()) return r.error_at(v, key, "at least one bridge port is needed");
    return {};
  };
  fields["xdp"] = [&](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(auto mode, r.choice(v, key, kXdpModes));
    c.xdp = static_cast<XdpMode>(std::find(kXdpModes.begin(), kXdpModes.end(), mode) -
                                 kXdpModes.begin());
    return {};
  };
  fields["steer_mark"] = integer_into(r, c.steer_mark, 1, 0xffffffffLL);
  fields["route_table"] = [&](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(auto table, r.integer(v, key, 1, 0xfffffffeLL));
    if (table >= 253 && table <= 255) {
      return r.error_at(
          v, key,
          std::to_string(table) + " is a reserved table (default/main/local); pick another id");
    }
    c.route_table = static_cast<std::uint32_t>(table);
    return {};
  };
  fields["state_dir"] = path_into(r, c.state_dir, false);
  fields["run_dir"] = path_into(r, c.run_dir, false);
  fields["pin_dir"] = [&](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(c.pin_dir, r.path(v, key, false));
    if (c.pin_dir.lexically_normal().string().rfind("/sys/fs/bpf/", 0) != 0) {
      return r.error_at(v, key, "must be a directory under /sys/fs/bpf (the BPF filesystem)");
    }
    return {};
  };
  fields["workers"] = integer_into(r, c.workers, 0, 1024);
  fields["log_level"] = [&](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(c.log_level, r.choice(v, key, kLogLevels));
    return {};
  };
  fields["intercept"] = bool_into(r, c.intercept);
  fields["block_quic"] = bool_into(r, c.block_quic);
  fields["candidate_ports"] = [&](const toml::node& v, const std::string& key) -> Status {
    c.candidate_ports.clear();
    return r.array(v, key, "ports", kMaxCandidatePorts,
                   [&](const toml::node& item, std::size_t i) -> Status {
                     const std::string item_key = key + "[" + std::to_string(i) + "]";
                     WB_TRY_ASSIGN(auto port, r.integer(item, item_key, 1, 65535));
                     auto p = static_cast<std::uint16_t>(port);
                     if (std::find(c.candidate_ports.begin(), c.candidate_ports.end(), p) !=
                         c.candidate_ports.end()) {
                       return r.error_at(item, item_key, std::to_string(p) + " is listed twice");
                     }
                     c.candidate_ports.push_back(p);
                     return {};
                   });
  };
  fields["bypass_src"] = cidrs_into(r, c.bypass_src);
  fields["bypass_dst"] = cidrs_into(r, c.bypass_dst);
  fields["limits"] = table_into(
      r,
      {{"max_sessions", integer_into(r, c.limits.max_sessions, 1, 1000000)},
       {"max_sessions_per_client", integer_into(r, c.limits.max_sessions_per_client, 1, 1000000)},
       {"max_hello_bytes", integer_into(r, c.limits.max_hello_bytes, 1024, 1 << 20)}});
  fields["on_max_sessions"] = [&](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(auto mode, r.choice(v, key, kOnMax));
    c.on_max_sessions = mode == "refuse" ? OnMaxSessions::kRefuse : OnMaxSessions::kBypass;
    return {};
  };
  fields["timeouts"] =
      table_into(r, {{"connect", seconds_into(r, c.timeouts.connect, 1, 300)},
                     {"first_bytes", seconds_into(r, c.timeouts.first_bytes, 1, 300)},
                     {"idle", seconds_into(r, c.timeouts.idle, 1, 86400)},
                     {"handshake", seconds_into(r, c.timeouts.handshake, 1, 300)}});
  fields["crl_host"] = [&](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(c.crl_host, r.string(v, key));
    // The certificate service's validator, so `config check` refuses exactly what the agent
    // would, for the same reason. Its message already starts with "crl_host: ".
    auto host = certs::validate_crl_host(c.crl_host);
    if (!host) return r.error_at(v, "", host.error().context);
    return {};
  };
  fields["certs"] = table_into(
      r, {{"max_validity_days",
           integer_into(r, c.certs.max_validity_days, kMinValidityDays, kMaxValidityDays,
                        "days; 825 is the CA/Browser Forum maximum older clients enforce, "
                        "397 what browsers accept")},
          {"cache_size", integer_into(r, c.certs.cache_size, kMinCertCache, kMaxCertCache,
                                      "forged certificates kept in memory")}});
  fields["trust_store"] = path_into(r, c.trust_store, false);
  fields["keylog"] = path_into(r, c.keylog, true);
  fields["tunnel_on_error"] = bool_into(r, c.tunnel_on_error);
  fields["speculative_handshake"] = bool_into(r, c.speculative_handshake);
  fields["compact_idle_sessions"] = bool_into(r, c.compact_idle_sessions);
  fields["compact_skip_after"] =
      integer_into(r, c.compact_skip_after, 0, 1000000,
                   "sessions closed before going quiet; 0 tracks every session");
  fields["openssl_builtin_key_methods"] = bool_into(r, c.openssl_builtin_key_methods);
  fields["learned_tunnel_ttl"] = seconds_into(r, c.learned_tunnel_ttl, 1, 7 * 86400);
  fields["pinning_window"] = seconds_into(r, c.pinning_window, 0, 60);
  fields["detect"] = table_into(r, {{"https", bool_into(r, c.detect.https)},
                                    {"sips", bool_into(r, c.detect.sips)},
                                    {"sip", bool_into(r, c.detect.sip)},
                                    {"ms-turn", bool_into(r, c.detect.ms_turn)}});
  fields["sip_malformed"] = [&](const toml::node& v, const std::string& key) -> Status {
    WB_TRY_ASSIGN(auto mode, r.choice(v, key, kSipMalformed));
    c.sip_malformed = mode == "relay" ? SipMalformed::kRelay : SipMalformed::kDeny;
    return {};
  };
  fields["policy"] = [&](const toml::node& v, const std::string& key) -> Status {
    auto* arr = v.as_array();
    if (arr == nullptr || (!arr->empty() && !arr->is_array_of_tables())) {
      return r.error_at(v, key,
                        "expected [[policy]] tables, got " + std::string(detail::type_name(v)));
    }
    return r.array(v, key, "[[policy]] tables", kMaxPolicyRules,
                   [&](const toml::node& item, std::size_t i) -> Status {
                     PolicyRule rule;
                     WB_TRY(read_policy_rule(r, item, key + "[" + std::to_string(i) + "]", rule));
                     c.policy.push_back(std::move(rule));
                     return {};
                   });
  };

  WB_TRY(r.walk(root, "", fields));
  WB_TRY(check_whole(r, c));
  return c;
}

Result<Config> load_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_error(path.string() + ": cannot read the configuration");
  std::string text;
  text.resize(kMaxConfigBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return errno_error(path.string() + ": cannot read the configuration");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxConfigBytes) {
    return make_error(std::errc::file_too_large, path.string() + ": larger than " +
                                                     std::to_string(kMaxConfigBytes) +
                                                     " bytes; not a wirebump configuration");
  }
  return parse_config(text, path.string());
}

}  // namespace wb::config
