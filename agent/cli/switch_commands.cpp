// Run-time switches: `wirebump intercept on|off`, `wirebump quic block|allow`,
// `wirebump detect on|off PROTOCOL` (PROTOCOL.md: intercept.set, quic.set, detect.set).
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/cli/output.h"
#include "agent/config/names.h"

namespace wb::cli {
namespace {

// Parses a two-word switch ("on"/"off", "block"/"allow"); nullopt after a usage error.
std::optional<bool> parse_switch(Context& ctx, std::string_view what, const std::string& value,
                                 std::string_view yes, std::string_view no) {
  if (value == yes) return true;
  if (value == no) return false;
  usage_error(
      ctx, what,
      "expected '" + std::string(yes) + "' or '" + std::string(no) + "', got '" + value + "'");
  return std::nullopt;
}

}  // namespace

void add_switch_commands(CLI::App& app, Context& ctx) {
  static std::string intercept_state;
  static bool intercept_json = false;
  auto* intercept = add_leaf(app, "intercept",
                             "Switch interception on or off (off: everything bypasses in the "
                             "kernel; existing sessions finish)",
                             intercept_json);
  intercept->add_option("state", intercept_state, "on | off")->required();
  intercept->callback([&ctx] {
    auto on = parse_switch(ctx, "intercept", intercept_state, "on", "off");
    if (!on) return;
    auto result = call_agent(ctx, "intercept", "intercept.set", {{"enabled", *on}});
    if (!result) return;
    if (intercept_json) return print_json(*result);
    std::cout << "interception " << on_off(flag(*result, "intercept", *on)) << "\n";
  });

  static std::string quic_state;
  static bool quic_json = false;
  auto* quic = add_leaf(app, "quic",
                        "Block QUIC (drop QUIC Initials on UDP 443 and remove Alt-Svc h3 from new "
                        "intercepted HTTP sessions: clients fall back to TCP/TLS) or allow it",
                        quic_json);
  quic->add_option("state", quic_state, "block | allow")->required();
  quic->callback([&ctx] {
    auto block = parse_switch(ctx, "quic", quic_state, "block", "allow");
    if (!block) return;
    auto result = call_agent(ctx, "quic", "quic.set", {{"block", *block}});
    if (!result) return;
    if (quic_json) return print_json(*result);
    std::cout << "quic " << (flag(*result, "block_quic", *block) ? "blocked" : "allowed") << "\n";
  });

  static std::string detect_state;
  static std::string detect_protocol;
  static bool detect_json = false;
  auto* detect = add_leaf(app, "detect",
                          "Switch protocol detection on or off for one protocol (off: such "
                          "traffic is tunnelled, not inspected)",
                          detect_json);
  detect->add_option("state", detect_state, "on | off")->required();
  detect->add_option("protocol", detect_protocol, "https | sips | sip | ms-turn")->required();
  detect->callback([&ctx] {
    auto on = parse_switch(ctx, "detect", detect_state, "on", "off");
    if (!on) return;
    if (!config::is_one_of(config::kDetectProtocols, detect_protocol)) {
      return usage_error(ctx, "detect",
                         "unknown protocol '" + detect_protocol + "' (expected " +
                             config::one_of(config::kDetectProtocols) + ")");
    }
    auto result =
        call_agent(ctx, "detect", "detect.set", {{"protocol", detect_protocol}, {"enabled", *on}});
    if (!result) return;
    if (detect_json) return print_json(*result);
    const auto& all = result->contains("detect") ? (*result)["detect"] : nlohmann::json::object();
    Table table({"PROTOCOL", "DETECTION"});
    for (const auto& [name, value] : all.items()) {
      table.add({name, on_off(value.is_boolean() && value.get<bool>())});
    }
    if (table.empty()) {
      std::cout << "detection of " << detect_protocol << " " << on_off(*on) << "\n";
    } else {
      table.print(std::cout);
    }
  });
}

}  // namespace wb::cli
