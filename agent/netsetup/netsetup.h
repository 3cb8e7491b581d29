// Bridge and kernel setup for the agent, over rtnetlink: create or adopt the bridge, enslave the
// ports, bring everything up, turn the bridge's netfilter calls off, install the steering
// policy routing; and undo exactly that. Runs in the calling thread's network namespace.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "agent/common/result.h"
#include "agent/netsetup/links.h"
#include "agent/netsetup/net_state.h"
#include "agent/netsetup/policy_routing.h"

namespace wb::netsetup {

struct NetSpec {
  std::string bridge = "br0";
  std::vector<std::string> ports;
  SteeringRouting routing;
};

// What the datapath needs to know about the bridge once it is set up.
struct BridgeInfo {
  LinkInfo bridge;  // ifindex and MAC of the bridge (the steering destination)
  std::vector<LinkInfo> ports;
  bool created = false;  // wirebump created the bridge (and deletes it on teardown)
};

// Sets up per `spec`, recording every change in `state_path` as it goes. If a state file from
// an earlier run with the same spec exists (the agent was killed), its records are kept, so a
// restart neither forgets what it created nor claims what was there before. A file from a
// different spec is undone first. On failure, everything recorded is undone again.
Result<BridgeInfo> setup_network(const NetSpec& spec, const std::string& state_path);

// Undoes what `state_path` records, in reverse order, then removes the file. Best effort: every
// step is tried; the first error is returned. No state file: nothing to do.
Status teardown_network(const std::string& state_path);

// Reads the bridge's ifindex/MAC/ports without changing anything (for `wirebump down` and
// restarts).
Result<BridgeInfo> describe_bridge(const NetSpec& spec);

}  // namespace wb::netsetup
