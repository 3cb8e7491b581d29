// `wirebump config check [-c FILE] [--json]`: parses a configuration without an agent, so a typo
// is found before `wirebump run` (exit 2 with "file:line:col: key: what").
// `wirebump config show [-c FILE] [--json]`: the configuration in effect, every key with its value
// and the defaults filled in, as TOML (which `-c` reads back) or JSON.
#include <iostream>
#include <optional>
#include <sstream>

#include "agent/cli/agent_call.h"
#include "agent/config/config.h"
#include "agent/config/effective_config.h"

namespace wb::cli {
namespace {

std::string config_path(const Context& ctx) {
  return ctx.config_path.empty() ? config::kDefaultConfigPath : ctx.config_path;
}

}  // namespace

void add_config_command(CLI::App& app, Context& ctx) {
  auto* config = app.add_subcommand("config", "Configuration file tools");
  config->require_subcommand(1);
  static bool json = false;
  add_leaf(*config, "check", "Parse and validate a configuration file (-c FILE)", json)
      ->callback([&ctx] {
        const std::string path = config_path(ctx);
        auto c = load_config_or_report(ctx, "", path);
        if (!c) return;
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
  static bool show_json = false;
  add_leaf(*config, "show",
           "Print the configuration in effect (-c FILE), defaults included, as TOML or --json",
           show_json)
      ->callback([&ctx] {
        auto c = load_config_or_report(ctx, "", config_path(ctx));
        if (!c) return;
        const toml::table effective = config::effective_config(*c);
        if (show_json) {
          std::ostringstream text;
          text << toml::json_formatter{effective};
          print_json(nlohmann::json::parse(text.str()));  // the other commands' JSON layout
        } else {
          std::cout << effective << "\n";
        }
      });
}

}  // namespace wb::cli
