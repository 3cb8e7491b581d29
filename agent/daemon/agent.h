// The agent process (`wirebump run -c FILE`): wires netsetup, datapath, relay, session table and
// control server together, in this order:
//
//   start():  bridge + ports + netfilter switches + policy routing (netsetup, recorded)
//             -> datapath: programs loaded, maps pinned or reused, steering config written
//             -> classifier attached on both ports (kept as is when already running)
//             -> relay workers with their transparent listeners
//             -> listeners registered in the SOCKMAP: from here SYNs are steered
//             -> control socket served
//   serve():  until SIGTERM / SIGINT / SIGHUP
//   stop():   listeners unregistered (new SYNs bypass in kernel: fail open), live sessions get a
//             bounded grace to finish, relay and control stopped. Programs, pins, rules and the
//             bridge stay: a restarted agent resumes at once, `wirebump down` removes them.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "agent/common/result.h"
#include "agent/config/config.h"
#include "agent/relay/handler.h"

namespace wb::daemon {

class StopSignals;

struct AgentOptions {
  // What runs per accepted connection (plain relay unless interception is wired in).
  relay::HandlerFactory handler_factory;
  // How long live sessions may take to finish after a stop signal.
  std::chrono::milliseconds drain_grace{5000};
};

// Files in cfg.run_dir recording what the agent set up (read by `wirebump down`).
std::string netsetup_record_path(const config::Config& cfg);
std::string attach_record_path(const config::Config& cfg);

class Agent {
 public:
  static Result<std::unique_ptr<Agent>> start(const config::Config& cfg, AgentOptions options);
  ~Agent();  // stop()
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Blocks until a stop signal arrives on `signals`; returns the signal number.
  int serve(StopSignals& signals);
  // Idempotent. A second stop signal during the grace period ends the grace at once.
  void stop(StopSignals* signals = nullptr);

  struct Parts;

 private:
  explicit Agent(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace wb::daemon
