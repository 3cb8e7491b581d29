// `wirebump ports list|add|del PORT`: the candidate TCP ports whose SYNs are steered to the agent
// (PROTOCOL.md: ports.list, ports.add, ports.del).
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/cli/output.h"
#include "agent/config/cidr.h"

namespace wb::cli {
namespace {

void print_ports(const nlohmann::json& result) {
  Table table({"PORT"});
  for (const auto& p : list(result, "ports")) table.add({p.dump()});
  if (table.empty()) {
    std::cout << "no candidate ports: nothing is steered to the agent\n";
  } else {
    table.print(std::cout);
  }
}

}  // namespace

void add_ports_command(CLI::App& app, Context& ctx) {
  auto* ports = app.add_subcommand("ports", "Candidate TCP ports steered to the agent");
  ports->require_subcommand(1);

  static bool list_json = false;
  add_leaf(*ports, "list", "List the candidate ports", list_json)->callback([&ctx] {
    auto result = call_agent(ctx, "ports list", "ports.list");
    if (!result) return;
    if (list_json) return print_json(*result);
    print_ports(*result);
  });

  for (const char* verb : {"add", "del"}) {
    struct Args {
      std::string port;
      bool json = false;
    };
    static Args args[2];
    Args& a = args[std::string(verb) == "add" ? 0 : 1];
    auto* leaf = add_leaf(
        *ports, verb,
        std::string(verb) == "add" ? "Steer SYNs to PORT to the agent" : "Stop steering PORT",
        a.json);
    leaf->add_option("port", a.port, "TCP port 1..65535")->required();
    const std::string what = std::string("ports ") + verb;
    const std::string cmd = std::string("ports.") + verb;
    leaf->callback([&ctx, &a, what, cmd] {
      auto port = config::parse_port(a.port);
      if (!port) return usage_error(ctx, what, port.error().context);
      auto result = call_agent(ctx, what, cmd, {{"port", *port}});
      if (!result) return;
      if (a.json) return print_json(*result);
      print_ports(*result);
    });
  }
}

}  // namespace wb::cli
