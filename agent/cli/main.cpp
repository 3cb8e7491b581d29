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
  wb::cli::add_run_command(app, ctx);
  wb::cli::add_replay_command(app, ctx);

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
