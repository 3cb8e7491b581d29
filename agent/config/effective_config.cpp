#include "agent/config/effective_config.h"

namespace wb::config {
namespace {

template <typename T>
toml::array array_of(const std::vector<T>& items) {
  toml::array out;
  for (const auto& item : items) {
    if constexpr (std::is_same_v<T, Cidr>) {
      out.push_back(item.to_string());
    } else if constexpr (std::is_integral_v<T>) {
      out.push_back(static_cast<std::int64_t>(item));
    } else {
      out.push_back(item);
    }
  }
  return out;
}

std::int64_t seconds(std::chrono::seconds s) {
  return static_cast<std::int64_t>(s.count());
}

// Written in hex, as operators write marks (and as `ip rule` shows them).
toml::value<std::int64_t> steer_mark(std::uint32_t mark) {
  toml::value<std::int64_t> v(static_cast<std::int64_t>(mark));
  v.flags(toml::value_flags::format_as_hexadecimal);
  return v;
}

}  // namespace

toml::table effective_config(const Config& c) {
  toml::table t{
      {"bridge", c.bridge},
      {"ports", array_of(c.ports)},
      {"xdp", std::string(to_string(c.xdp))},
      {"steer_mark", steer_mark(c.steer_mark)},
      {"route_table", static_cast<std::int64_t>(c.route_table)},
      {"state_dir", c.state_dir.string()},
      {"run_dir", c.run_dir.string()},
      {"pin_dir", c.pin_dir.string()},
      {"workers", static_cast<std::int64_t>(c.workers)},
      {"log_level", c.log_level},
      {"intercept", c.intercept},
      {"block_quic", c.block_quic},
      {"candidate_ports", array_of(c.candidate_ports)},
      {"bypass_src", array_of(c.bypass_src)},
      {"bypass_dst", array_of(c.bypass_dst)},
      {"on_max_sessions", std::string(to_string(c.on_max_sessions))},
      {"trust_store", c.trust_store.string()},
      {"tunnel_on_error", c.tunnel_on_error},
      {"speculative_handshake", c.speculative_handshake},
      {"compact_idle_sessions", c.compact_idle_sessions},
      {"compact_skip_after", c.compact_skip_after},
      {"openssl_builtin_key_methods", c.openssl_builtin_key_methods},
      {"learned_tunnel_ttl", seconds(c.learned_tunnel_ttl)},
      {"pinning_window", seconds(c.pinning_window)},
      {"sip_malformed", std::string(to_string(c.sip_malformed))},
      {"limits",
       toml::table{
           {"max_sessions", static_cast<std::int64_t>(c.limits.max_sessions)},
           {"max_sessions_per_client", static_cast<std::int64_t>(c.limits.max_sessions_per_client)},
           {"max_hello_bytes", static_cast<std::int64_t>(c.limits.max_hello_bytes)}}},
      {"timeouts", toml::table{{"connect", seconds(c.timeouts.connect)},
                               {"first_bytes", seconds(c.timeouts.first_bytes)},
                               {"idle", seconds(c.timeouts.idle)},
                               {"handshake", seconds(c.timeouts.handshake)}}},
      {"certs",
       toml::table{{"max_validity_days", static_cast<std::int64_t>(c.certs.max_validity_days)},
                   {"cache_size", static_cast<std::int64_t>(c.certs.cache_size)}}},
      {"detect", toml::table{{"https", c.detect.https},
                             {"sips", c.detect.sips},
                             {"sip", c.detect.sip},
                             {"ms-turn", c.detect.ms_turn}}},
  };
  // Optional keys: absent means "not set" (the agent derives crl_host from br0, no key log).
  if (!c.crl_host.empty()) t.insert("crl_host", c.crl_host);
  if (!c.keylog.empty()) t.insert("keylog", c.keylog.string());
  if (!c.policy.empty()) {
    toml::array rules;
    for (const PolicyRule& rule : c.policy) {
      toml::table r;
      if (rule.has_dst) {
        r.insert("dst", rule.dst.to_string());
      } else {
        r.insert("sni", rule.sni);
      }
      r.insert("action", std::string(to_string(rule.action)));
      rules.push_back(std::move(r));
    }
    t.insert("policy", std::move(rules));
  }
  return t;
}

}  // namespace wb::config
