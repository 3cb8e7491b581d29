// `wirebump policy list | add (--sni PATTERN | --dst CIDR[:PORT]) --action ACTION | del ID`
// (PROTOCOL.md: policy.list, policy.add, policy.del).
#include <iostream>

#include "agent/cli/agent_call.h"
#include "agent/cli/output.h"
#include "agent/config/cidr.h"
#include "agent/config/config.h"
#include "agent/config/names.h"

namespace wb::cli {
namespace {

void print_rules(const nlohmann::json& rules) {
  Table table({"ID", "MATCH", "ACTION", "HITS", "SOURCE"});
  for (const auto& r : rules) {
    std::string match =
        r.contains("sni") && r["sni"].is_string() && !r["sni"].get<std::string>().empty()
            ? "sni " + r["sni"].get<std::string>()
            : "dst " + text(r, "dst");
    table.add({text(r, "id"), match, text(r, "action"),
               r.contains("hits") ? std::to_string(number(r, "hits")) : "-", text(r, "source")});
  }
  if (table.empty()) {
    std::cout << "no policy rules: everything on candidate ports is intercepted\n";
  } else {
    table.print(std::cout);
  }
}

}  // namespace

void add_policy_command(CLI::App& app, Context& ctx) {
  auto* policy = app.add_subcommand("policy", "Interception rules by SNI or destination");
  policy->require_subcommand(1);

  static bool list_json = false;
  add_leaf(*policy, "list", "List the rules in the order they are checked", list_json)
      ->callback([&ctx] {
        auto result = call_agent(ctx, "policy list", "policy.list");
        if (!result) return;
        if (list_json) return print_json(*result);
        print_rules(list(*result, "rules"));
      });

  static std::string sni, dst, action;
  static bool add_json = false;
  auto* add = add_leaf(*policy, "add", "Add a rule (checked after the existing ones)", add_json);
  auto* sni_opt = add->add_option("--sni", sni, "Server name: www.example.com or *.example.com");
  add->add_option("--dst", dst, "Destination CIDR[:PORT]: 192.0.2.0/24:443, [2001:db8::/32]:5061")
      ->excludes(sni_opt);
  add->add_option("--action", action, "intercept | tunnel | deny | allow-undetected")->required();
  add->callback([&ctx] {
    if (sni.empty() == dst.empty()) {
      return usage_error(ctx, "policy add",
                         "give exactly one of --sni PATTERN or --dst CIDR[:PORT]");
    }
    nlohmann::json args = nlohmann::json::object();
    if (!sni.empty()) {
      if (auto ok = config::check_sni_pattern(sni); !ok) {
        return usage_error(ctx, "policy add", "--sni " + ok.error().context);
      }
      args["sni"] = sni;
    } else {
      auto parsed = config::parse_dst(dst);
      if (!parsed) return usage_error(ctx, "policy add", "--dst " + parsed.error().context);
      args["dst"] = parsed->to_string();
    }
    if (auto a = config::parse_policy_action(action); !a) {
      return usage_error(ctx, "policy add", "--action " + a.error().context);
    }
    args["action"] = action;
    auto result = call_agent(ctx, "policy add", "policy.add", args);
    if (!result) return;
    if (add_json) return print_json(*result);
    if (result->contains("rule")) {
      std::cout << "added rule " << text((*result)["rule"], "id") << "\n";
      print_rules(nlohmann::json::array({(*result)["rule"]}));
    } else {
      std::cout << "rule added\n";
    }
  });

  static std::string id;
  static bool del_json = false;
  auto* del = add_leaf(*policy, "del", "Delete the rule with this ID (see policy list)", del_json);
  del->add_option("id", id, "Rule ID")->required();
  del->callback([&ctx] {
    if (id.empty() || id.size() > 9 || id.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(id) == 0) {
      return usage_error(ctx, "policy del", "'" + id + "' is not a rule ID (a positive number)");
    }
    auto result = call_agent(ctx, "policy del", "policy.del", {{"id", std::stoul(id)}});
    if (!result) return;
    if (del_json) return print_json(*result);
    std::cout << "deleted rule " << id << "\n";
  });
}

}  // namespace wb::cli
