// `wirebump bypass list|add|del [--src|--dst] CIDR`: sources and destinations that always bypass
// in the kernel (PROTOCOL.md: bypass.list, bypass.add, bypass.del). Without --src/--dst, add
// and del act on destinations.
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/cli/output.h"
#include "agent/config/cidr.h"

namespace wb::cli {
namespace {

void print_bypass(const nlohmann::json& result, const std::string& only) {
  Table table({"SIDE", "CIDR"});
  for (const char* side : {"src", "dst"}) {
    if (!only.empty() && only != side) continue;
    for (const auto& c : list(result, side)) {
      table.add({side, c.is_string() ? c.get<std::string>() : c.dump()});
    }
  }
  if (table.empty()) {
    std::cout << "no bypass CIDRs\n";
  } else {
    table.print(std::cout);
  }
}

}  // namespace

void add_bypass_command(CLI::App& app, Context& ctx) {
  auto* bypass = app.add_subcommand("bypass", "Source/destination CIDRs that bypass in the kernel");
  bypass->require_subcommand(1);

  struct Args {
    bool src = false;
    bool dst = false;
    std::string cidr;
    bool json = false;
  };
  static Args list_args;
  auto* list_cmd = add_leaf(*bypass, "list", "List the bypass CIDRs", list_args.json);
  auto* ls = list_cmd->add_flag("--src", list_args.src, "Only source CIDRs");
  list_cmd->add_flag("--dst", list_args.dst, "Only destination CIDRs")->excludes(ls);
  list_cmd->callback([&ctx] {
    auto result = call_agent(ctx, "bypass list", "bypass.list");
    if (!result) return;
    if (list_args.json) return print_json(*result);
    print_bypass(*result, list_args.src ? "src" : (list_args.dst ? "dst" : ""));
  });

  static Args args[2];
  for (int i = 0; i < 2; ++i) {
    const std::string verb = i == 0 ? "add" : "del";
    Args& a = args[i];
    auto* leaf = add_leaf(*bypass, verb,
                          i == 0 ? "Let traffic from (--src) or to (--dst, the default) CIDR bypass"
                                 : "Remove a bypass CIDR",
                          a.json);
    auto* s = leaf->add_flag("--src", a.src, "CIDR is a source (client) range");
    leaf->add_flag("--dst", a.dst, "CIDR is a destination (server) range (default)")->excludes(s);
    leaf->add_option("cidr", a.cidr, "IPv4 or IPv6 CIDR, e.g. 192.0.2.0/24, 2001:db8::/32")
        ->required();
    const std::string what = "bypass " + verb;
    const std::string cmd = "bypass." + verb;
    leaf->callback([&ctx, &a, what, cmd] {
      auto cidr = config::parse_cidr(a.cidr);
      if (!cidr) return usage_error(ctx, what, cidr.error().context);
      const std::string side = a.src ? "src" : "dst";
      auto result = call_agent(ctx, what, cmd, {{"side", side}, {"cidr", cidr->to_string()}});
      if (!result) return;
      if (a.json) return print_json(*result);
      print_bypass(*result, "");
    });
  }
}

}  // namespace wb::cli
