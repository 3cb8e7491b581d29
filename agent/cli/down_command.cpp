// `wirebump down [-c FILE]`: undoes what `wirebump run` set up (programs, pins, rules, routes,
// the bridge only if wirebump created it), also after the agent was killed. A running agent is
// stopped first. Safe to run twice, and with nothing set up.
#include <cstdio>
#include <filesystem>

#include "agent/cli/agent_call.h"
#include "agent/cli/commands.h"
#include "agent/common/log.h"
#include "agent/config/config.h"
#include "agent/daemon/bring_down.h"

namespace wb::cli {

void add_down_command(CLI::App& app, Context& ctx) {
  auto* down = app.add_subcommand(
      "down",
      "Stop the agent and remove everything it set up: programs, pins, policy rules and routes, "
      "and the bridge if wirebump created it (-c FILE: the configuration it ran with)");
  down->callback([&ctx] {
    // Without -c, a missing default file means the defaults (paths under /run and /sys/fs/bpf).
    config::Config cfg;
    const bool given = !ctx.config_path.empty();
    const std::string path = given ? ctx.config_path : config::kDefaultConfigPath;
    std::error_code ec;
    if (given || std::filesystem::exists(path, ec)) {
      auto loaded = load_config_or_report(ctx, "down", path);
      if (!loaded) return;
      cfg = std::move(*loaded);
    }
    log::init(spdlog::level::warn);
    auto report = daemon::bring_down(cfg);
    if (!report) {
      std::fprintf(stderr, "wirebump down: %s\n", report.error().message().c_str());
      ctx.exit_code = kExitFailure;
      return;
    }
    if (report->stopped_pid != 0) {
      std::printf("stopped agent pid %d\n", report->stopped_pid);
    }
    std::printf("wirebump is down: bridge %s is a plain bridge again, pins under %s removed\n",
                cfg.bridge.c_str(), cfg.pin_dir.c_str());
  });
}

}  // namespace wb::cli
