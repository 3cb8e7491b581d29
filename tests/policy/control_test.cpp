#include "agent/policy/control.h"

#include <gtest/gtest.h>

namespace wb::policy {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(PolicyControl, AddListDelRules) {
  Policy p;
  const auto now = Clock::now();
  auto added =
      handle_control(p, "policy.add", json{{"sni", "*.bank.example"}, {"action", "tunnel"}}, now);
  ASSERT_TRUE(added.ok()) << added.error().message();
  auto added6 = handle_control(
      p, "policy.add", json{{"dst", "[2001:db8::/32]:5061"}, {"action", "allow-undetected"}}, now);
  ASSERT_TRUE(added6.ok()) << added6.error().message();
  auto added4 =
      handle_control(p, "policy.add", json{{"dst", "192.0.2.0/24"}, {"action", "deny"}}, now);
  ASSERT_TRUE(added4.ok());

  auto list = handle_control(p, "policy.list", json::object(), now);
  ASSERT_TRUE(list.ok());
  const auto& rules = (*list)["rules"];
  ASSERT_EQ(rules.size(), 3u);
  EXPECT_EQ(rules[0]["sni"], "*.bank.example");
  EXPECT_EQ(rules[0]["action"], "tunnel");
  EXPECT_EQ(rules[1]["dst"], "[2001:db8::/32]:5061");
  EXPECT_EQ(rules[2]["dst"], "192.0.2.0/24");
  EXPECT_EQ(rules[2]["id"], (*added4)["rule"]["id"]);
  EXPECT_EQ((*added)["rule"]["sni"], "*.bank.example");
  EXPECT_EQ((*added)["rule"]["action"], "tunnel");

  // The rule takes effect at once.
  const Destination dst{*IpAddress::parse("192.0.2.2"), 443};
  EXPECT_EQ(p.decide_tls("x.example", {}, dst, now).kind, Decision::Kind::kDeny);
  auto deleted = handle_control(p, "policy.del", json{{"id", (*added4)["rule"]["id"]}}, now);
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ((*deleted)["deleted"], (*added4)["rule"]["id"]);
  EXPECT_EQ(p.decide_tls("x.example", {}, dst, now).kind, Decision::Kind::kIntercept);
  auto again = handle_control(p, "policy.del", json{{"id", (*added4)["rule"]["id"]}}, now);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, std::errc::no_such_file_or_directory);  // -> not_found
  EXPECT_NE(again.error().message().find("no policy rule"), std::string::npos);
}

TEST(PolicyControl, BadArgumentsAreClearErrors) {
  Policy p;
  const auto now = Clock::now();
  struct Case {
    const char* command;
    json args;
    const char* message;
  } cases[] = {
      {"policy.add", json{{"action", "tunnel"}}, "exactly one of"},
      {"policy.add", json{{"sni", "a.example"}, {"dst", "192.0.2.0/24"}, {"action", "tunnel"}},
       "exactly one of"},
      {"policy.add", json{{"sni", "a.example"}}, "'action'"},
      {"policy.add", json{{"sni", "a.example"}, {"action", "bypass"}}, "unknown action 'bypass'"},
      {"policy.add", json{{"sni", "a..example"}, {"action", "tunnel"}}, "bad SNI pattern"},
      {"policy.add", json{{"dst", "192.0.2.1/24"}, {"action", "tunnel"}}, "192.0.2.1/24"},
      {"policy.add", json{{"sni", 5}, {"action", "tunnel"}}, "'sni'"},
      {"policy.del", json{{"id", "seven"}}, "missing rule id"},
      {"policy.del", json{{"id", 99}}, "no policy rule 99"},
      {"detect.set", json{{"protocol", "ftp"}, {"enabled", false}}, "unknown protocol 'ftp'"},
      {"detect.set", json{{"protocol", "sips"}}, "'enabled'"},
      {"policy.list", json::array(), "JSON object"},
      {"policy.frobnicate", json::object(), "unknown policy command"},
  };
  for (const auto& c : cases) {
    auto r = handle_control(p, c.command, c.args, now);
    ASSERT_FALSE(r.ok()) << c.command << " " << c.args.dump();
    EXPECT_NE(r.error().message().find(c.message), std::string::npos)
        << c.command << " " << c.args.dump() << " -> " << r.error().message();
  }
  EXPECT_TRUE(p.rules().empty());
}

TEST(PolicyControl, DetectAndTunnels) {
  Policy p;
  const auto now = Clock::now();
  auto d = handle_control(p, "detect.set", json{{"protocol", "sips"}, {"enabled", false}}, now);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)["detect"]["sips"], false);
  EXPECT_EQ((*d)["detect"]["https"], true);
  EXPECT_FALSE(p.detect(Detect::kSips));
  EXPECT_EQ((*handle_control(p, "detect.list", {}, now))["detect"]["ms-turn"], true);

  p.learn_failure("Pinned.Example", {*IpAddress::parse("192.0.2.2"), 443},
                  LearnReason::kClientRejectedCertificate, "alert unknown_ca received", now);
  auto list = handle_control(p, "tunnels.list", {}, now + 10s);
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)["ttl_seconds"], 3600);
  ASSERT_EQ((*list)["tunnels"].size(), 1u);
  const auto& t = (*list)["tunnels"][0];
  EXPECT_EQ(t["sni"], "pinned.example");
  EXPECT_EQ(t["destination"], "192.0.2.2:443");
  EXPECT_EQ(t["reason"], "client_rejected_certificate");
  EXPECT_EQ(t["detail"], "alert unknown_ca received");
  EXPECT_EQ(t["expires_in"], 3590);
  EXPECT_EQ((*handle_control(p, "tunnels.flush", {}, now))["flushed"], 1);
  EXPECT_TRUE((*handle_control(p, "tunnels.list", {}, now))["tunnels"].empty());
  EXPECT_EQ((*handle_control(p, "policy.stats", {}, now))["learned"], 1);
  for (auto name : control_commands()) {
    if (name == "policy.add" || name == "policy.del" || name == "detect.set") continue;
    EXPECT_TRUE(handle_control(p, name, {}, now).ok()) << name;
  }
}

TEST(PolicyControl, FromConfig) {
  auto cfg = config::parse_config(R"(
tunnel_on_error = false
learned_tunnel_ttl = 120
[detect]
sips = false
[[policy]]
sni = "*.bank.example"
action = "tunnel"
[[policy]]
dst = "192.0.2.0/24:443"
action = "allow-undetected"
)",
                                  "test.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  auto p = policy_from_config(*cfg);
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_FALSE((*p)->tunnel_on_error());
  EXPECT_FALSE((*p)->detect(Detect::kSips));
  EXPECT_TRUE((*p)->detect(Detect::kHttps));
  EXPECT_EQ((*p)->learned().ttl(), 120s);
  const auto rules = (*p)->rules();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].action, Action::kTunnel);
  EXPECT_EQ(rules[1].action, Action::kAllowUndetected);
  EXPECT_EQ(rules[1].match.port, 443);
}

}  // namespace
}  // namespace wb::policy
