// `wirebump run`: with --check-kernel, probes the kernel and exits.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "agent/cli/check_kernel.h"
#include "agent/cli/commands.h"
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
      out.push_back({{"name", cap.name}, {"what", cap.what}, {"ok", cap.ok}, {"detail", cap.detail}});
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

}  // namespace

void add_run_command(CLI::App& app, Context& ctx) {
  auto* run = app.add_subcommand("run", "Run the bridge agent (or probe the kernel with --check-kernel)");
  static bool check = false;
  static bool json = false;
  run->add_flag("--check-kernel", check,
                "Probe BPF, bpffs, BTF, clsact/cls_bpf, io_uring and transparent sockets, then exit");
  run->add_flag("--json", json, "Machine-readable output");
  run->callback([&ctx] {
    if (check) {
      ctx.exit_code = check_kernel(json);
      return;
    }
    std::fprintf(stderr, "wirebump run: -c CONFIG is required (or --check-kernel)\n");
    ctx.exit_code = kExitUsage;
  });
}

}  // namespace wb::cli
