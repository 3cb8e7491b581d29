// `wirebump replay FILE [--json] [--no-kernel]`: what the bridge would do with the traffic in a
// pcap/pcapng capture, per flow (see agent/replay/replay_report.h). Uses the global -c CONFIG for
// ports, bypass lists, QUIC blocking and the policy; without -c the built-in defaults.
//
// Exit: 0 when every flow was reported (warnings, e.g. snaplen-cut frames, on stderr);
// 1 when the capture cannot be read, or was damaged (the flows before the damage are still
// printed); 2 for a bad config; 4 when the kernel classifier cannot be loaded (not root, no
// BPF): --no-kernel then reports the agent-side classification alone.
#include <iostream>

#include "agent/cli/commands.h"
#include "agent/config/config.h"
#include "agent/replay/replay_report.h"

namespace wb::cli {

void add_replay_command(CLI::App& app, Context& ctx) {
  struct Args {
    std::string file;
    bool json = false;
    bool no_kernel = false;
  };
  static Args args;
  auto* cmd = app.add_subcommand(
      "replay",
      "Classify every flow of a pcap/pcapng capture as the bridge would (no traffic sent)");
  cmd->add_option("file", args.file, "Capture file (pcap or pcapng)")->required();
  cmd->add_flag("--json", args.json, "One JSON document for scripts");
  cmd->add_flag("--no-kernel", args.no_kernel,
                "Skip the kernel classifier (BPF_PROG_TEST_RUN needs root)");
  cmd->callback([&ctx, &app] {
    replay::ReplayOptions options;
    options.use_kernel = !args.no_kernel;
    // The global -c/--config, when main.cpp defines it (parsed before any callback runs).
    const CLI::Option* config_opt = app.get_option_no_throw("--config");
    const std::string config_path =
        config_opt != nullptr && config_opt->count() != 0 ? config_opt->as<std::string>() : "";
    if (!config_path.empty()) {
      auto cfg = config::load_config(config_path);
      if (!cfg.ok()) {
        std::cerr << "wirebump replay: " << cfg.error().message() << '\n';
        ctx.exit_code = kExitUsage;
        return;
      }
      options.config = std::move(cfg).value();
    }
    auto capture = replay::read_capture(args.file);
    if (!capture.ok()) {
      std::cerr << "wirebump replay: " << capture.error().message() << '\n';
      ctx.exit_code = kExitFailure;
      return;
    }
    auto report = replay::replay_capture(*capture, options);
    if (!report.ok()) {
      std::cerr << "wirebump replay: " << report.error().message() << '\n';
      if (options.use_kernel) std::cerr << "  (--no-kernel classifies without the kernel)\n";
      ctx.exit_code = options.use_kernel ? kExitUnsupported : kExitFailure;
      return;
    }
    report->file = args.file;
    for (const std::string& w : report->warnings) {
      std::cerr << "wirebump replay: warning: " << w << '\n';
    }
    if (args.json) {
      std::cout << replay::to_json(*report).dump(2, ' ', false,
                                                 nlohmann::json::error_handler_t::replace)
                << '\n';
    } else {
      replay::print_text(*report, std::cout);
    }
    ctx.exit_code = report->damaged ? kExitFailure : kExitOk;
  });
}

}  // namespace wb::cli
