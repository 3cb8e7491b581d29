// The `wirebump` command set. Each subcommand lives in its own file and registers itself on the
// CLI11 app through one add_*_command function listed in main.cpp.
#pragma once

#include <CLI/CLI.hpp>

namespace wb::cli {

// Exit codes that mean something to scripts.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,     // the operation failed (message on stderr)
  kExitUsage = 2,       // bad arguments or configuration
  kExitNoAgent = 3,     // no agent answers on the control socket
  kExitUnsupported = 4  // the kernel lacks a capability (see run --check-kernel)
};

// Shared by all subcommands: the callback stores its result here.
struct Context {
  int exit_code = kExitOk;
};

void add_run_command(CLI::App& app, Context& ctx);
void add_replay_command(CLI::App& app, Context& ctx);  // replay FILE: a capture, no agent

}  // namespace wb::cli
