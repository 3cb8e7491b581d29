// The agent's side of the control protocol (agent/control/PROTOCOL.md): one handler per command,
// reading the session table, the relay's counters and the datapath maps, and writing policy into
// the maps (which the classifier reads on the next frame: nothing reloads).
#pragma once

#include "agent/control/server.h"
#include "agent/daemon/agent.h"

namespace wb::daemon {

void register_control_handlers(control::ControlServer& server, Agent::Parts& parts);

}  // namespace wb::daemon
