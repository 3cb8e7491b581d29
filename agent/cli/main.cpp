// The single `wirebump` binary: agent (`run`) and operator CLI share it.
#include <CLI/CLI.hpp>

#include "agent/cli/commands.h"

#ifndef WB_VERSION
#define WB_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  CLI::App app{"wirebump: transparent TLS-inspection bridge for Linux", "wirebump"};
  app.set_version_flag("-V,--version", "wirebump " WB_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  wb::cli::Context ctx;
  // Global options (accepted before or after the subcommand): where the agent's control socket is.
  app.add_option("-c,--config", ctx.config_path,
                 "Configuration file (default /etc/wirebump/wirebump.toml); the CLI finds the "
                 "control socket in its run_dir");
  app.add_option("--socket", ctx.socket_path,
                 "Control socket of the agent (default /run/wirebump/control.sock)");
  app.add_option("--timeout", ctx.timeout_s, "Seconds to wait for the agent's answer (default 10)")
      ->check(CLI::Range(0.1, 3600.0));

  wb::cli::add_run_command(app, ctx);
  wb::cli::add_replay_command(app, ctx);
  wb::cli::add_down_command(app, ctx);
  wb::cli::add_status_command(app, ctx);
  wb::cli::add_switch_commands(app, ctx);
  wb::cli::add_ports_command(app, ctx);
  wb::cli::add_bypass_command(app, ctx);
  wb::cli::add_sessions_command(app, ctx);
  wb::cli::add_policy_command(app, ctx);
  wb::cli::add_tunnels_command(app, ctx);
  wb::cli::add_cert_commands(app, ctx);
  wb::cli::add_config_command(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return wb::cli::kExitUsage;
  }
  return ctx.exit_code;
}
