// What the bridge setup changed, persisted in the state directory after every step so that
// `wirebump down` can undo exactly that, also after the agent was killed with SIGKILL. Things
// that were already in place before wirebump ran are never recorded, so never removed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "agent/common/result.h"
#include "agent/netsetup/bridge_nf.h"
#include "agent/netsetup/policy_routing.h"

namespace wb::netsetup {

struct NetState {
  std::string bridge;
  SteeringRouting routing;
  bool created_bridge = false;                // delete the bridge on teardown
  bool bridge_brought_up = false;             // adopted bridge that was down: set it down again
  std::vector<std::string> enslaved_ports;    // ports wirebump enslaved (release them)
  std::vector<std::string> ports_brought_up;  // ports that were down before
  std::optional<NfCall> nf_call_before;       // the switches before wirebump turned them off
  bool rule_v4 = false;
  bool rule_v6 = false;
  bool route_v4 = false;
  bool route_v6 = false;

  bool empty() const;
  bool operator==(const NetState&) const = default;
};

std::string to_json_text(const NetState& state);
Result<NetState> from_json_text(const std::string& text);

// Written atomically (temporary file + rename), mode 0600.
Status save_net_state(const std::string& path, const NetState& state);
// std::nullopt when the file does not exist (nothing to undo).
Result<std::optional<NetState>> load_net_state(const std::string& path);
Status remove_net_state(const std::string& path);

}  // namespace wb::netsetup
