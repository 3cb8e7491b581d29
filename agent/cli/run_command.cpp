// `wirebump run [-c FILE]`: runs the agent in the foreground until SIGTERM/SIGINT (systemd:
// deploy/wirebump.service). With --check-kernel, probes the kernel and exits.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "agent/cli/check_kernel.h"
#include "agent/cli/commands.h"
#include "agent/common/log.h"
#include "agent/config/config.h"
#include "agent/daemon/agent.h"
#include "agent/daemon/signals.h"
#include "bpf/wirebump_abi.h"

namespace wb::cli {
namespace {

int check_kernel(bool json) {
  auto caps = probe_kernel("/sys/fs/bpf");
  int failed = 0;
  for (const auto& cap : caps) failed += cap.ok ? 0 : 1;
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& cap : caps) {
      out.push_back(
          {{"name", cap.name}, {"what", cap.what}, {"ok", cap.ok}, {"detail", cap.detail}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& cap : caps) {
      std::printf("%-4s %-12s %s%s%s\n", cap.ok ? "ok" : "FAIL", cap.name.c_str(), cap.what.c_str(),
                  cap.detail.empty() ? "" : ": ", cap.detail.c_str());
    }
  }
  if (failed != 0) {
    std::string names;
    for (const auto& cap : caps) {
      if (!cap.ok) names += (names.empty() ? "" : ", ") + cap.name;
    }
    std::fprintf(stderr, "wirebump: this kernel lacks %d capabilit%s the bridge needs: %s\n",
                 failed, failed == 1 ? "y" : "ies", names.c_str());
    return kExitUnsupported;
  }
  return kExitOk;
}

int run_agent(const std::string& config_path) {
  const std::string path = config_path.empty() ? config::kDefaultConfigPath : config_path;
  auto cfg = config::load_config(path);
  if (!cfg) {
    const auto& e = cfg.error();
    // Config errors carry the whole "file:line:col: key: what" message in context.
    std::fprintf(stderr, "wirebump run: %s\n",
                 (e.code == std::errc::invalid_argument ? e.context : e.message()).c_str());
    return kExitUsage;
  }
  auto level = log::parse_level(cfg->log_level);
  log::init(level.value_or(spdlog::level::info));
  // Before any thread exists, so every thread inherits the blocked stop signals.
  auto signals = daemon::StopSignals::install();
  if (!signals) {
    spdlog::error("{}", signals.error().message());
    return kExitFailure;
  }
  spdlog::info("wirebump {} starting with {}", WB_VERSION, path);
  auto agent = daemon::Agent::start(*cfg, daemon::AgentOptions{});
  if (!agent) {
    spdlog::error("{}", agent.error().message());
    spdlog::error("not running; `wirebump down -c {}` removes what was set up", path);
    return kExitFailure;
  }
  (*agent)->serve(*signals);
  (*agent)->stop(&*signals);
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, Context& ctx) {
  auto* run =
      app.add_subcommand("run",
                         "Run the bridge agent in the foreground until SIGTERM (-c FILE, default "
                         "/etc/wirebump/wirebump.toml), or probe the kernel with --check-kernel");
  static bool check = false;
  static bool json = false;
  run->add_flag(
      "--check-kernel", check,
      "Probe BPF, bpffs, BTF, clsact/cls_bpf, io_uring and transparent sockets, then exit");
  run->add_flag("--json", json, "Machine-readable output");
  run->callback([&ctx] {
    if (check) {
      ctx.exit_code = check_kernel(json);
      return;
    }
    ctx.exit_code = run_agent(ctx.config_path);
  });
}

}  // namespace wb::cli
