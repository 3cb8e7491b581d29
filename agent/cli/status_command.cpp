// `wirebump status [--json]`: agent state, interfaces, kernel counters by verdict and reason,
// sessions by protocol, certificate cache counters (request/result: PROTOCOL.md "status").
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/cli/output.h"

namespace wb::cli {
namespace {

void print_status(const nlohmann::json& s) {
  const auto& agent = s.contains("agent") ? s["agent"] : nlohmann::json::object();
  std::cout << "agent          " << text(agent, "state") << " (pid " << text(agent, "pid")
            << ", version " << text(agent, "version") << ", up "
            << human_duration(static_cast<std::int64_t>(number(agent, "uptime_s"))) << ", "
            << number(agent, "workers") << " workers)\n";
  std::cout << "interception   " << on_off(flag(s, "intercept")) << "\n";
  std::cout << "quic           " << (flag(s, "block_quic") ? "blocked" : "allowed") << "\n";
  if (s.contains("candidate_ports")) {
    std::string ports;
    for (const auto& p : list(s, "candidate_ports")) ports += (ports.empty() ? "" : " ") + p.dump();
    std::cout << "ports          " << (ports.empty() ? "-" : ports) << "\n";
  }
  if (s.contains("detect") && s["detect"].is_object()) {
    std::string detect;
    for (const auto& [name, on] : s["detect"].items()) {
      detect +=
          (detect.empty() ? "" : ", ") + name + " " + on_off(on.is_boolean() && on.get<bool>());
    }
    std::cout << "detection      " << detect << "\n";
  }

  Table interfaces({"INTERFACE", "ROLE", "IFINDEX", "HOOKS"});
  for (const auto& i : list(s, "interfaces")) {
    std::string hooks;
    for (const auto& h : list(i, "hooks")) {
      hooks += (hooks.empty() ? "" : ",") + (h.is_string() ? h.get<std::string>() : h.dump());
    }
    interfaces.add({text(i, "name"), text(i, "role"), text(i, "ifindex"), hooks});
  }
  if (!interfaces.empty()) {
    std::cout << "\n";
    interfaces.print(std::cout);
  }

  // Reasons that never fired are left out of the human view (--json has every one).
  Table counters({"VERDICT", "REASON", "PACKETS", "BYTES"});
  for (const auto& c : list(s, "counters")) {
    if (number(c, "packets") == 0) continue;
    counters.add({text(c, "verdict"), text(c, "reason"), std::to_string(number(c, "packets")),
                  human_bytes(number(c, "bytes"))});
  }
  if (!counters.empty()) {
    std::cout << "\n";
    counters.print(std::cout);
  }

  const auto& sessions = s.contains("sessions") ? s["sessions"] : nlohmann::json::object();
  Table by_protocol({"PROTOCOL", "SESSIONS"});
  if (sessions.contains("by_protocol") && sessions["by_protocol"].is_object()) {
    for (const auto& [name, count] : sessions["by_protocol"].items()) {
      by_protocol.add({name, count.is_number() ? count.dump() : "-"});
    }
  }
  std::cout << "\nsessions       " << number(sessions, "active") << " active (max "
            << text(sessions, "max") << ", refused " << number(sessions, "refused") << ")\n"
            << "per client     max " << text(sessions, "max_per_client") << ", refused "
            << number(sessions, "refused_per_client") << "\n";
  if (!by_protocol.empty()) by_protocol.print(std::cout);

  if (s.contains("relay") && s["relay"].is_object()) {
    const auto& relay = s["relay"];
    std::cout << "relay          accepted " << number(relay, "accepted") << ", upstream failed "
              << number(relay, "upstream_failed") << ", port fallback "
              << number(relay, "upstream_port_fallback") << ", spliced "
              << human_bytes(number(relay, "bytes_spliced")) << "\n";
  }
  // Where http://<crl host>/... is answered: each address local (br0) or steered to the agent.
  if (s.contains("crl_host") && s["crl_host"].is_object()) {
    const auto& crl = s["crl_host"];
    std::string where;
    for (const auto& a : list(crl, "addresses")) {
      where += (where.empty() ? "" : ", ") + text(a, "address") + " " + text(a, "serving");
    }
    std::cout << "crl host       " << text(crl, "host") << " (" << (where.empty() ? "-" : where)
              << ")\n";
    if (crl.contains("resolve_error")) {
      std::cout << "WARNING        " << text(crl, "resolve_error")
                << ": strict clients cannot fetch revocation data from this bridge\n";
    }
  }
  // Present only when interception runs in the agent (PROTOCOL.md "status").
  if (s.contains("interception") && s["interception"].is_object()) {
    const auto& i = s["interception"];
    std::cout << "intercepted    " << number(i, "intercepted") << " (tunnelled "
              << number(i, "tunnelled") << ", on error " << number(i, "tunnelled_on_error")
              << ", client rejected " << number(i, "client_rejected") << ", denied "
              << number(i, "denied") << ")\n"
              << "forging        " << number(i, "forged") << " forged ("
              << number(i, "forge_queued") << " off the loop, " << number(i, "forge_errors")
              << " errors), upstream resumed " << number(i, "upstream_resumed")
              << ", untrusted upstreams " << number(i, "untrusted_upstreams") << "\n"
              << "speculative    " << number(i, "speculative") << " (aborted "
              << number(i, "speculative_aborted") << "), upstream verification kept "
              << number(i, "verify_cache_hits") << ", verified " << number(i, "verify_cache_misses")
              << "\n"
              << "compacted      " << number(i, "compacted")
              << " TLS legs (quiet sessions on wirebump's record layer); untracked "
              << number(i, "compaction_untracked") << " sessions of busy destinations ("
              << number(i, "compaction_untracked_quiet") << " went quiet)\n"
              << "key methods    "
              << (i.value("builtin_key_methods", false) ? "OpenSSL built-in (RSA, EC)"
                                                        : "OpenSSL providers")
              << "\n";
  }

  if (s.contains("certs") && s["certs"].is_object()) {
    const auto& cache = s["certs"].contains("cache") ? s["certs"]["cache"] : s["certs"];
    std::cout << "\ncert cache     hits " << number(cache, "hits") << ", misses "
              << number(cache, "misses") << ", evictions " << number(cache, "evictions")
              << ", size " << number(cache, "size") << "/" << number(cache, "capacity") << "\n";
    if (s["certs"].contains("key_pool") && s["certs"]["key_pool"].is_object()) {
      const auto& pool = s["certs"]["key_pool"];
      std::cout << "key pool       EC " << number(pool, "ec") << "/" << number(pool, "ec_wanted")
                << ", RSA " << number(pool, "rsa") << "/" << number(pool, "rsa_wanted")
                << (pool.value("done", false) ? "" : " (generating)") << "\n";
    }
  }
}

}  // namespace

void add_status_command(CLI::App& app, Context& ctx) {
  static bool json = false;
  auto* cmd = add_leaf(app, "status",
                       "Agent state, interfaces, counters by verdict and reason, sessions", json);
  cmd->callback([&ctx] {
    auto result = call_agent(ctx, "status", "status");
    if (!result) return;
    if (json) {
      print_json(*result);
    } else {
      print_status(*result);
    }
  });
}

}  // namespace wb::cli
