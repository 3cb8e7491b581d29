// `wirebump tunnels list|flush`: destinations learned from failed interceptions, tunnelled from
// the first byte until they expire (PROTOCOL.md: tunnels.list, tunnels.flush).
#include <ctime>
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/cli/output.h"

namespace wb::cli {

void add_tunnels_command(CLI::App& app, Context& ctx) {
  auto* tunnels =
      app.add_subcommand("tunnels", "Destinations learned to be tunnelled (tunnel on error)");
  tunnels->require_subcommand(1);

  static bool list_json = false;
  add_leaf(*tunnels, "list", "List learned tunnels with their reason and expiry", list_json)
      ->callback([&ctx] {
        auto result = call_agent(ctx, "tunnels list", "tunnels.list");
        if (!result) return;
        if (list_json) return print_json(*result);
        const std::int64_t now = std::time(nullptr);
        Table table({"SNI", "DESTINATION", "REASON", "DETAIL", "HITS", "LEARNED", "EXPIRES IN"});
        for (const auto& t : list(*result, "tunnels")) {
          const auto learned = unix_time(t.value("learned", nlohmann::json()));
          const auto expires = unix_time(t.value("expires", nlohmann::json()));
          table.add({text(t, "sni"), text(t, "destination"), text(t, "reason"), text(t, "detail"),
                     std::to_string(number(t, "hits")), format_utc(learned),
                     expires < 0 ? "-" : human_duration(std::max<std::int64_t>(0, expires - now))});
        }
        if (table.empty()) {
          std::cout << "no learned tunnels\n";
        } else {
          table.print(std::cout);
        }
      });

  static bool flush_json = false;
  add_leaf(*tunnels, "flush", "Forget every learned tunnel", flush_json)->callback([&ctx] {
    auto result = call_agent(ctx, "tunnels flush", "tunnels.flush");
    if (!result) return;
    if (flush_json) return print_json(*result);
    std::cout << "flushed " << number(*result, "flushed") << " learned tunnel"
              << (number(*result, "flushed") == 1 ? "" : "s") << "\n";
  });
}

}  // namespace wb::cli
