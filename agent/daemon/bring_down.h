// `wirebump down`: undoes everything `wirebump run` set up, also after the agent was killed
// (it works from the records in the run directory and the config, never from a live process):
// stops a running agent, detaches the classifier (and a clsact qdisc wirebump created), removes
// the pins (so the programs are freed), the policy-routing rules and routes, restores the
// bridge (deleting it only if wirebump created it), removes the stale control socket.
#pragma once

#include <chrono>

#include "agent/common/result.h"
#include "agent/config/config.h"

namespace wb::daemon {

struct DownOptions {
  // How long a running agent gets to exit after SIGTERM.
  std::chrono::milliseconds stop_timeout{15000};
};

struct DownReport {
  int stopped_pid = 0;  // the agent that was running, 0 if none
};

Result<DownReport> bring_down(const config::Config& cfg, DownOptions options = {});

}  // namespace wb::daemon
