// `wirebump config check [-c FILE] [--json]`: parses a configuration without an agent, so a typo
// is found before `wirebump run` (exit 2 with "file:line:col: key: what").
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/config/config.h"

namespace wb::cli {

void add_config_command(CLI::App& app, Context& ctx) {
  auto* config = app.add_subcommand("config", "Configuration file tools");
  config->require_subcommand(1);
  static bool json = false;
  add_leaf(*config, "check", "Parse and validate a configuration file (-c FILE)", json)
      ->callback([&ctx] {
        const std::string path =
            ctx.config_path.empty() ? config::kDefaultConfigPath : ctx.config_path;
        auto c = config::load_config(path);
        if (!c) {
          const auto& e = c.error();
          std::fprintf(stderr, "wirebump: %s\n",
                       (e.code == std::errc::invalid_argument ? e.context : e.message()).c_str());
          ctx.exit_code = kExitUsage;
          return;
        }
        if (json) {
          print_json({{"file", path},
                      {"ok", true},
                      {"bridge", c->bridge},
                      {"ports", c->ports},
                      {"control_socket", c->control_socket().string()},
                      {"candidate_ports", c->candidate_ports},
                      {"policy_rules", c->policy.size()}});
          return;
        }
        std::cout << path << ": ok (bridge " << c->bridge << ", " << c->ports.size() << " ports, "
                  << c->candidate_ports.size() << " candidate ports, " << c->policy.size()
                  << " policy rules; control socket " << c->control_socket().string() << ")\n";
      });
}

}  // namespace wb::cli
