// The `wirebump` command set. Each subcommand lives in its own file and registers itself on the
// CLI11 app through one add_*_command function listed in main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace wb::cli {

// Exit codes that mean something to scripts.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,     // the operation failed (message on stderr)
  kExitUsage = 2,       // bad arguments or configuration
  kExitNoAgent = 3,     // no agent answers on the control socket
  kExitUnsupported = 4  // the kernel lacks a capability (see run --check-kernel)
};

// Shared by all subcommands: the callback stores its result here. The global options are
// filled before any subcommand callback runs.
struct Context {
  int exit_code = kExitOk;
  std::string config_path;  // -c/--config FILE (global; empty: not given)
  std::string socket_path;  // --socket PATH (global; empty: from the config, else the default)
  double timeout_s = 10;    // --timeout SECONDS for the control socket
};

void add_run_command(CLI::App& app, Context& ctx);
void add_replay_command(CLI::App& app, Context& ctx);  // replay FILE: a capture, no agent
void add_down_command(CLI::App& app, Context& ctx);    // down: undo everything run set up

// Operator commands talking to the running agent over the control socket.
void add_status_command(CLI::App& app, Context& ctx);    // status
void add_switch_commands(CLI::App& app, Context& ctx);   // intercept, quic, detect
void add_ports_command(CLI::App& app, Context& ctx);     // ports list|add|del
void add_bypass_command(CLI::App& app, Context& ctx);    // bypass list|add|del
void add_sessions_command(CLI::App& app, Context& ctx);  // sessions
void add_policy_command(CLI::App& app, Context& ctx);    // policy list|add|del
void add_tunnels_command(CLI::App& app, Context& ctx);   // tunnels list|flush
void add_cert_commands(CLI::App& app, Context& ctx);     // ca show|import, cert revoke, crl
// Local: checks a configuration file without an agent.
void add_config_command(CLI::App& app, Context& ctx);  // config check

}  // namespace wb::cli
