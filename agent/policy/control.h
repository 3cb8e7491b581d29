// The policy's control-socket commands, as pure functions of (Policy, JSON arguments) -> JSON, so
// the daemon registers them on its control socket and the CLI helper sends them:
//
//   "policy.list"   {}                                   -> {"rules":[{"id","sni"|"dst","action"}]}
//   "policy.add"    {"sni":P | "dst":"CIDR[:PORT]", "action":A}   -> {"id":N}
//   "policy.del"    {"id":N}                             -> {"removed":true}   (error if none)
//   "detect.list"   {}                                   ->
//   {"https":true,"sips":..,"sip":..,"ms-turn":..} "detect.set"    {"protocol":"sips","on":false}
//   -> the detect.list answer after the change "tunnels.list"  {} ->
//   {"ttl_seconds":..,"tunnels":[{"sni",
//                   "destination","reason","detail","learned","expires","expires_in","hits"}]}
//   "tunnels.flush" {}                                   -> {"flushed":N}
//   "policy.stats"  {}                                   -> counters (undetected denied/allowed...)
//
// As agent/control/PROTOCOL.md specifies. Errors: std::errc::invalid_argument with a message for
// the operator ("unknown action 'x' (expected ...)"); no_such_file_or_directory (not_found) for
// "no policy rule 7".
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>
#include <vector>

#include "agent/common/result.h"
#include "agent/config/config.h"
#include "agent/policy/policy.h"

namespace wb::policy {

// The command names above, for registration.
const std::vector<std::string_view>& control_commands();

Result<nlohmann::json> handle_control(Policy& policy, std::string_view command,
                                      const nlohmann::json& args, Clock::time_point now);

// The policy as the config file describes it ([[policy]] rules, [detect], tunnel_on_error,
// learned_tunnel_ttl).
Result<std::unique_ptr<Policy>> policy_from_config(const config::Config& cfg);

}  // namespace wb::policy
