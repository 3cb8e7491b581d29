// `wirebump sessions [--protocol P] [--json]`: active sessions, filterable by protocol
// (PROTOCOL.md: sessions.list). The INFO column is the inspector's one-line summary (SIP user and
// dialogs, TURN allocations, HTTP host); --json carries the inspector's full detail.
#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/cli/output.h"
#include "agent/session/session_types.h"

namespace wb::cli {
namespace {

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

void print_sessions(const nlohmann::json& sessions, const std::string& protocol) {
  const std::int64_t now = std::time(nullptr);
  Table table({"ID", "PROTOCOL", "CLIENT", "SERVER", "SNI", "STATE", "VERDICT", "REASON", "UP",
               "DOWN", "AGE", "IDLE", "INFO"});
  for (const auto& s : sessions) {
    const auto start = unix_time(s.value("start", nlohmann::json()));
    const auto last = unix_time(s.value("last_activity", nlohmann::json()));
    const auto& inspector = s.contains("inspector") ? s["inspector"] : nlohmann::json::object();
    table.add({text(s, "id"), upper(text(s, "protocol")), text(s, "client"), text(s, "server"),
               text(s, "sni"), text(s, "state"), text(s, "verdict"), text(s, "reason"),
               human_bytes(number(s, "bytes_from_client")),
               human_bytes(number(s, "bytes_from_server")),
               start < 0 ? "-" : human_duration(std::max<std::int64_t>(0, now - start)),
               last < 0 ? "-" : human_duration(std::max<std::int64_t>(0, now - last)),
               text(inspector, "brief")});
  }
  if (table.empty()) {
    std::cout << "no active sessions" << (protocol.empty() ? "" : " with protocol " + protocol)
              << "\n";
    return;
  }
  table.print(std::cout);
}

}  // namespace

void add_sessions_command(CLI::App& app, Context& ctx) {
  static std::string protocol;
  static bool json = false;
  auto* cmd = add_leaf(app, "sessions", "Active sessions (filter with --protocol)", json);
  cmd->add_option("-p,--protocol", protocol,
                  "Only sessions of this protocol: " + session::protocol_choices());
  cmd->callback([&ctx] {
    const auto parsed = session::parse_protocol(protocol);
    if (!protocol.empty() && !parsed) {
      return usage_error(
          ctx, "sessions",
          "unknown protocol '" + protocol + "' (expected " + session::protocol_choices() + ")");
    }
    const std::string wanted = parsed ? std::string(session::label(*parsed)) : "";
    nlohmann::json args = nlohmann::json::object();
    if (!wanted.empty()) args["protocol"] = wanted;
    auto result = call_agent(ctx, "sessions", "sessions.list", args);
    if (!result) return;
    // The agent filters; filtering again here keeps the output right with any agent version.
    nlohmann::json sessions = nlohmann::json::array();
    for (const auto& s : list(*result, "sessions")) {
      if (wanted.empty() || lower(text(s, "protocol")) == wanted) sessions.push_back(s);
    }
    std::sort(sessions.begin(), sessions.end(),
              [](const auto& a, const auto& b) { return number(a, "id") < number(b, "id"); });
    if (json) return print_json({{"sessions", sessions}});
    print_sessions(sessions, wanted);
  });
}

}  // namespace wb::cli
